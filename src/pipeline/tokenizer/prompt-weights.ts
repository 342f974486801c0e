/**
 * Emphasis in prompts, in the syntax of AUTOMATIC1111's web UI (also read by
 * stable-diffusion.cpp and ComfyUI), which most shared SD v1.5 prompts use:
 *
 *   (word)      weight x1.1          ((word)) x1.21, and so on
 *   [word]      weight /1.1
 *   (word:1.4)  weight x1.4 (the number replaces the 1.1 of that bracket)
 *   \( \) \[ \] \\   the characters themselves
 *
 * A bracket left open applies to the rest of the prompt. Each piece is
 * tokenized on its own, and every token of a piece gets its weight; the text
 * encoder's output row of each token is then scaled by it, and the whole
 * output rescaled to keep its mean (weightContext).
 */
import { CONTEXT_LENGTH, truncationWarning, type ClipTokenizer, type EncodedPrompt, type TokenizerMode } from './clip-tokenizer.js';

/** off: brackets are plain text (as SD v1.5's tokenizer and diffusers read them); a1111: emphasis. */
export type EmphasisMode = 'off' | 'a1111';
export const EMPHASIS_MODES: readonly EmphasisMode[] = ['off', 'a1111'];

export interface WeightedText {
  text: string;
  weight: number;
}

const ROUND = 1.1;
const SQUARE = 1 / 1.1;

// An escape, an opening bracket, "(...:number)"'s closing part, a closing
// bracket, a run of plain text, or a lone colon or backslash.
const ATTENTION_TOKEN = /\\[()[\]\\]|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()[\]:]+|:/g;

/** A1111's BREAK keyword (a new 75-token chunk there); see parsePromptWeights. */
const BREAK = /\s*\bBREAK\b\s*/;

/**
 * The prompt split into pieces of text with their weights, adjacent pieces of
 * equal weight merged. BREAK starts a new 77-token chunk in A1111; the
 * converted text encoder reads one chunk, so it is dropped and counted in
 * `breaks` for a warning.
 */
export function parsePromptWeights(prompt: string): { pieces: WeightedText[]; breaks: number } {
  const pieces: WeightedText[] = [];
  const rounds: number[] = [];
  const squares: number[] = [];
  let breaks = 0;
  const scaleFrom = (start: number, factor: number) => {
    for (let i = start; i < pieces.length; i++) pieces[i]!.weight *= factor;
  };
  for (const match of prompt.matchAll(ATTENTION_TOKEN)) {
    const [token, number] = match;
    const weight = number === undefined ? NaN : Number(number);
    if (token.startsWith('\\')) pieces.push({ text: token.slice(1), weight: 1 }); // a lone backslash is dropped
    else if (token === '(') rounds.push(pieces.length);
    else if (token === '[') squares.push(pieces.length);
    else if (Number.isFinite(weight) && rounds.length > 0) scaleFrom(rounds.pop()!, weight);
    else if (token === ')' && rounds.length > 0) scaleFrom(rounds.pop()!, ROUND);
    else if (token === ']' && squares.length > 0) scaleFrom(squares.pop()!, SQUARE);
    else {
      const parts = token.split(BREAK);
      breaks += parts.length - 1;
      for (const part of parts) pieces.push({ text: part, weight: 1 });
    }
  }
  for (const start of rounds) scaleFrom(start, ROUND);
  for (const start of squares) scaleFrom(start, SQUARE);

  const merged: WeightedText[] = [];
  for (const piece of pieces) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.weight === piece.weight) last.text += piece.text;
    else merged.push({ ...piece });
  }
  return { pieces: merged.length > 0 ? merged : [{ text: '', weight: 1 }], breaks };
}

export interface PromptEncoding {
  encoded: EncodedPrompt;
  /** CONTEXT_LENGTH weights, one per position of the ids, when emphasis gave any token a weight other than 1. */
  weights?: Float32Array;
  /** Truncation, a dropped BREAK, or (emphasis off) emphasis syntax read as text. */
  warnings: string[];
}

/** The tokens the text encoder reads for `prompt`, with weights when emphasis is on. */
export function encodePrompt(
  tokenizer: Pick<ClipTokenizer, 'textIds' | 'frame'>,
  prompt: string,
  mode: TokenizerMode,
  emphasis: EmphasisMode,
): PromptEncoding {
  const { pieces, breaks } = emphasis === 'a1111' ? parsePromptWeights(prompt) : { pieces: [{ text: prompt, weight: 1 }], breaks: 0 };
  const textIds: number[] = [];
  const textWeights: number[] = [];
  for (const piece of pieces) {
    for (const id of tokenizer.textIds(piece.text, mode)) {
      textIds.push(id);
      textWeights.push(piece.weight);
    }
  }
  const encoded = tokenizer.frame(textIds, mode);
  const warnings = [truncationWarning(encoded)];
  if (breaks > 0) {
    warnings.push(`BREAK starts a new 75-token chunk in AUTOMATIC1111's web UI; the text encoder here reads one chunk, so it was dropped`);
  }
  if (emphasis === 'off' && parsePromptWeights(prompt).pieces.some((piece) => piece.weight !== 1)) {
    warnings.push('the prompt has emphasis brackets such as (word:1.2); they are read as text (--emphasis a1111 weights them)');
  }
  const kept = textWeights.slice(0, encoded.textTokens);
  let weights: Float32Array | undefined;
  if (kept.some((w) => w !== 1)) {
    weights = new Float32Array(CONTEXT_LENGTH).fill(1);
    weights.set(kept, 1);
  }
  return { encoded, weights, warnings: warnings.filter((w) => w !== undefined) };
}

/**
 * The text encoder's output [CONTEXT_LENGTH, hiddenSize] with each token's
 * row scaled by its weight, then the whole scaled back to the mean it had
 * (as A1111 does, so emphasis shifts attention between tokens rather than
 * the overall strength of the conditioning). Returns a new array.
 */
export function weightContext(hidden: Float32Array, weights: Float32Array, hiddenSize: number): Float32Array {
  if (hidden.length !== weights.length * hiddenSize) {
    throw new RangeError(`text encoder output has ${hidden.length} values, expected ${weights.length} x ${hiddenSize}`);
  }
  let before = 0;
  let after = 0;
  const out = new Float32Array(hidden.length);
  for (let t = 0; t < weights.length; t++) {
    const w = weights[t]!;
    for (let i = t * hiddenSize; i < (t + 1) * hiddenSize; i++) {
      out[i] = hidden[i]! * w;
      before += hidden[i]!;
      after += out[i]!;
    }
  }
  const restore = before / after;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * restore;
  return out;
}
