import { BytePairEncoder } from './bpe.js';
import { toByteChars } from './byte-encoder.js';
import { fixText } from './fix-text.js';
import { htmlUnescape } from './html-unescape.js';
import { CLIP_PRE_TOKENIZER, collapseWhitespace, pyStrip } from './python-text.js';
import { CLIP_MERGE_COUNT, mergeRanks, readVocabFiles } from './vocab-files.js';

/**
 * - `hf`: what SD v1.5 was trained with: OpenAI's CLIP tokenizer text
 *   clean-up (ftfy, HTML unescaping), the special-token strings mapped to
 *   their ids, and Hugging Face CLIPTokenizer's framing: start, at most 75
 *   text tokens, end, padding with the end token.
 * - `seed`: the reference pipeline's tokenizer (ai-edge-torch tokenizer.py),
 *   reproduced exactly: NFC only, special-token strings spelled out as text,
 *   and the first 77 ids kept, so past 75 text tokens the end token is lost.
 */
export type TokenizerMode = 'hf' | 'seed';

export const TOKENIZER_MODES: readonly TokenizerMode[] = ['hf', 'seed'];

/** Token positions the text encoder reads. */
export const CONTEXT_LENGTH = 77;

export interface EncodedPrompt {
  /** CONTEXT_LENGTH token ids: start, text, end, padding. */
  ids: Int32Array;
  /** Text tokens kept in `ids` (between the start and end tokens). */
  textTokens: number;
  /** Text tokens cut off by truncation. */
  dropped: number;
  /** False when truncation also cut off the end token (seed mode, 76+ text tokens). */
  endTokenKept: boolean;
}

const START_TEXT = '<|startoftext|>';
const END_TEXT = '<|endoftext|>';

/** CLIP's byte-level BPE tokenizer, loaded from vocab.json and merges.txt. */
export class ClipTokenizer {
  private readonly startId: number;
  private readonly endId: number;

  private constructor(
    private readonly hfBpe: BytePairEncoder,
    private readonly seedBpe: BytePairEncoder,
    vocab: ReadonlyMap<string, number>,
  ) {
    this.startId = vocab.get(START_TEXT)!;
    this.endId = vocab.get(END_TEXT)!;
  }

  /** Loads DIR/vocab.json and DIR/merges.txt (or DIR/tokenizer/..., a whole SD repository). */
  static load(dir: string): ClipTokenizer {
    const files = readVocabFiles(dir);
    const { vocab, merges } = files;
    // OpenAI and Hugging Face use the first 48894 merges; the seed tokenizer
    // uses every line between the "#version" line and the last line break.
    const hfCount = Math.min(merges.length, CLIP_MERGE_COUNT);
    const seedCount = files.endsWithNewline ? merges.length : merges.length - 1;
    const hfBpe = new BytePairEncoder(mergeRanks(merges, hfCount), vocab);
    const seedBpe = seedCount === hfCount ? hfBpe : new BytePairEncoder(mergeRanks(merges, seedCount), vocab);
    return new ClipTokenizer(hfBpe, seedBpe, vocab);
  }

  /** The text as the mode's clean-up leaves it, before pre-tokenization. */
  normalize(text: string, mode: TokenizerMode = 'hf'): string {
    if (mode === 'seed') return pyStrip(collapseWhitespace(text.normalize('NFC'))).toLowerCase();
    // OpenAI's basic_clean (ftfy, html.unescape twice, strip), then
    // whitespace_clean, then lower case.
    const cleaned = pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
    return pyStrip(collapseWhitespace(cleaned)).toLowerCase();
  }

  /** The ids of the prompt's text tokens, untruncated, without start and end tokens. */
  textIds(text: string, mode: TokenizerMode = 'hf'): number[] {
    const bpe = mode === 'seed' ? this.seedBpe : this.hfBpe;
    const ids: number[] = [];
    for (const [word] of this.normalize(text, mode).matchAll(CLIP_PRE_TOKENIZER)) {
      if (mode === 'hf' && word === START_TEXT) ids.push(this.startId);
      else if (mode === 'hf' && word === END_TEXT) ids.push(this.endId);
      else ids.push(...bpe.encodeWord(toByteChars(word)));
    }
    return ids;
  }

  /** The CONTEXT_LENGTH ids the text encoder reads for `text`. */
  encode(text: string, mode: TokenizerMode = 'hf'): EncodedPrompt {
    return this.frame(this.textIds(text, mode), mode);
  }

  /** Text token ids framed as the mode does: start, text (truncated), end, padding. */
  frame(textIds: readonly number[], mode: TokenizerMode = 'hf'): EncodedPrompt {
    const framed =
      mode === 'seed'
        ? [this.startId, ...textIds, this.endId].slice(0, CONTEXT_LENGTH)
        : [this.startId, ...textIds.slice(0, CONTEXT_LENGTH - 2), this.endId];
    const textTokens = Math.min(textIds.length, mode === 'seed' ? CONTEXT_LENGTH - 1 : CONTEXT_LENGTH - 2);
    const ids = new Int32Array(CONTEXT_LENGTH).fill(this.endId);
    ids.set(framed);
    return {
      ids,
      textTokens,
      dropped: textIds.length - textTokens,
      endTokenKept: textTokens + 2 <= CONTEXT_LENGTH,
    };
  }
}

/** What truncation cut from a prompt, for a warning; undefined when nothing was cut. */
export function truncationWarning(encoded: EncodedPrompt): string | undefined {
  const total = encoded.textTokens + encoded.dropped;
  const endLost = encoded.endTokenKept ? '' : '; the end token was dropped too, as the reference pipeline does';
  if (encoded.dropped > 0) {
    const cut = encoded.dropped === 1 ? 'the last token was' : `the last ${encoded.dropped} tokens were`;
    return `the prompt is ${total} tokens; the text encoder reads ${encoded.textTokens}, so ${cut} dropped${endLost}`;
  }
  if (!encoded.endTokenKept) {
    return `the prompt is ${total} tokens, which leaves no room for the end token; it was dropped, as the reference pipeline does`;
  }
  return undefined;
}
