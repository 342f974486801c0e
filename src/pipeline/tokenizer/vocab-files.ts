import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../errors.js';
import { BYTE_TO_CHAR } from './byte-encoder.js';
import { WORD_END } from './bpe.js';

/** CLIP's BPE table as OpenAI and Hugging Face load it: 49152 - 256 - 2 merges. */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

export interface VocabFiles {
  vocabPath: string;
  mergesPath: string;
  /** Token id by symbol (vocab.json). */
  vocab: Map<string, number>;
  /** Merges in file order, each "left right". */
  merges: string[];
  /** Whether merges.txt ends with a line break (the seed tokenizer drops the last line otherwise). */
  endsWithNewline: boolean;
}

/**
 * Where the tokenizer files are: DIR itself, or DIR/tokenizer/ when DIR is a
 * whole Stable Diffusion repository folder.
 */
export function tokenizerDir(dir: string): string {
  const nested = join(dir, 'tokenizer');
  return !existsSync(join(dir, 'vocab.json')) && existsSync(join(nested, 'vocab.json')) ? nested : dir;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(err);
    throw new FormatError(path, `cannot read the tokenizer's ${what}: ${reason}`);
  }
}

function parseVocab(path: string): Map<string, number> {
  let json: unknown;
  try {
    json = JSON.parse(readText(path, 'vocabulary'));
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(path, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(path, 'expected a JSON object mapping each token to its integer id');
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(json)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new FormatError(path, `token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected an integer in [0, 2^31)`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

function parseMerges(path: string): { merges: string[]; endsWithNewline: boolean } {
  // Python reads text files with universal newlines, so accept CRLF too.
  const text = readText(path, 'BPE merges').replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || !lines[0]!.includes('#version')) {
    throw new FormatError(path, 'expected a "#version: ..." first line, as in CLIP\'s merges.txt');
  }
  const merges = lines.slice(1);
  merges.forEach((line, i) => {
    if (!/^[^\s]+ [^\s]+$/u.test(line)) {
      throw new FormatError(path, `line ${i + 2}: expected two symbols separated by one space, got ${JSON.stringify(line.slice(0, 80))}`);
    }
  });
  return { merges, endsWithNewline: text.endsWith('\n') };
}

/**
 * Reads vocab.json and merges.txt (the SD v1.5 repository's tokenizer/
 * folder) and checks that the vocabulary holds the special tokens, every
 * byte symbol and every merge result, so encoding can never meet an unknown
 * symbol.
 */
export function readVocabFiles(dir: string): VocabFiles {
  const root = tokenizerDir(dir);
  const vocabPath = join(root, 'vocab.json');
  const mergesPath = join(root, 'merges.txt');
  const vocab = parseVocab(vocabPath);
  const { merges, endsWithNewline } = parseMerges(mergesPath);

  for (const special of ['<|startoftext|>', '<|endoftext|>']) {
    if (!vocab.has(special)) throw new FormatError(vocabPath, `missing the special token ${special}`);
  }
  for (const ch of BYTE_TO_CHAR) {
    for (const symbol of [ch, ch + WORD_END]) {
      if (!vocab.has(symbol)) throw new FormatError(vocabPath, `missing the byte symbol ${JSON.stringify(symbol)}`);
    }
  }
  merges.forEach((merge, i) => {
    const symbol = merge.replace(' ', '');
    if (!vocab.has(symbol)) {
      throw new FormatError(vocabPath, `missing ${JSON.stringify(symbol)}, the result of ${mergesPath} line ${i + 2}`);
    }
  });
  return { vocabPath, mergesPath, vocab, merges, endsWithNewline };
}

/** Merge ranks from the first `count` merges; a repeated pair keeps its last rank, as in Python's dict. */
export function mergeRanks(merges: readonly string[], count: number): Map<string, number> {
  const ranks = new Map<string, number>();
  for (let i = 0; i < Math.min(count, merges.length); i++) ranks.set(merges[i]!, i);
  return ranks;
}
