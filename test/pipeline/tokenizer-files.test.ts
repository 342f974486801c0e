import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';

const VOCAB = join(import.meta.dirname, '..', '..', 'assets', 'clip-tokenizer');
const vocabText = readFileSync(join(VOCAB, 'vocab.json'), 'utf8');
const mergesText = readFileSync(join(VOCAB, 'merges.txt'), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'sd-tokenizer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A tokenizer folder with the given file contents (undefined: file absent). */
function folder(vocab: string | undefined, merges: string | undefined): string {
  const dir = join(root, `t${count++}`);
  mkdirSync(dir);
  if (vocab !== undefined) writeFileSync(join(dir, 'vocab.json'), vocab);
  if (merges !== undefined) writeFileSync(join(dir, 'merges.txt'), merges);
  return dir;
}

function loadError(dir: string): FormatError {
  try {
    ClipTokenizer.load(dir);
  } catch (err) {
    if (err instanceof FormatError) return err;
    throw err;
  }
  throw new Error('expected a FormatError');
}

describe('malformed tokenizer files give a FormatError naming the file', () => {
  const vocabWithout = (token: string) => {
    const v = JSON.parse(vocabText);
    delete v[token];
    return JSON.stringify(v);
  };

  test.each([
    ['missing vocab.json', () => folder(undefined, mergesText), 'vocab.json', /file not found/],
    ['missing merges.txt', () => folder(vocabText, undefined), 'merges.txt', /file not found/],
    ['vocab.json not JSON', () => folder('{"a": 1,', mergesText), 'vocab.json', /not valid JSON/],
    ['vocab.json an array', () => folder('[1, 2]', mergesText), 'vocab.json', /JSON object/],
    ['vocab.json id not an integer', () => folder('{"a": 1.5}', mergesText), 'vocab.json', /"a" has id 1\.5/],
    ['no end token', () => folder(vocabWithout('<|endoftext|>'), mergesText), 'vocab.json', /<\|endoftext\|>/],
    ['no byte symbol', () => folder(vocabWithout('a</w>'), mergesText), 'vocab.json', /byte symbol "a<\/w>"/],
    ['merge result missing', () => folder(vocabWithout('in'), mergesText), 'vocab.json', /"in", the result of .*merges\.txt line 2/],
    ['merges.txt without #version', () => folder(vocabText, mergesText.slice(mergesText.indexOf('\n') + 1)), 'merges.txt', /#version/],
    ['merges.txt empty', () => folder(vocabText, ''), 'merges.txt', /#version/],
    ['merges.txt bad line', () => folder(vocabText, mergesText.replace('\nt h\n', '\nt h x\n')), 'merges.txt', /line 3: expected two symbols/],
  ])('%s', (_name, make, file, detail) => {
    const err = loadError(make());
    expect(err.file.endsWith(file)).toBe(true);
    expect(err.message).toMatch(detail);
  });
});

describe('accepted layouts', () => {
  const prompt = 'a photograph of an astronaut riding a horse';
  const expected = Array.from(ClipTokenizer.load(VOCAB).encode(prompt).ids);

  test('an SD repository folder with tokenizer/ inside', () => {
    const dir = join(root, 'sd-repo');
    mkdirSync(join(dir, 'tokenizer'), { recursive: true });
    copyFileSync(join(VOCAB, 'vocab.json'), join(dir, 'tokenizer', 'vocab.json'));
    copyFileSync(join(VOCAB, 'merges.txt'), join(dir, 'tokenizer', 'merges.txt'));
    expect(Array.from(ClipTokenizer.load(dir).encode(prompt).ids)).toEqual(expected);
  });

  test('CRLF line breaks in merges.txt', () => {
    const dir = folder(vocabText, mergesText.replace(/\n/g, '\r\n'));
    expect(Array.from(ClipTokenizer.load(dir).encode(prompt).ids)).toEqual(expected);
  });

  describe('which merges count', () => {
    // "zürich" is three tokens; an extra merge of its first two symbols,
    // appended after CLIP's 48894, would join them.
    const word = 'z\u00fcrich';
    const vocab = JSON.parse(vocabText) as Record<string, number>;
    const symbolOf = new Map(Object.entries(vocab).map(([symbol, id]) => [id, symbol]));
    const plain = ClipTokenizer.load(VOCAB).textIds(word);
    const [first, second] = plain.map((id) => symbolOf.get(id)!);
    const withExtra = (ending: string) =>
      ClipTokenizer.load(folder(JSON.stringify({ ...vocab, [first! + second!]: 49408 }), `${mergesText}${first} ${second}${ending}`));

    test('hf mode uses only the first 48894 merges; seed mode uses every line', () => {
      expect(plain.length).toBeGreaterThan(2);
      const tok = withExtra('\n');
      expect(tok.textIds(word, 'hf')).toEqual(plain);
      expect(tok.textIds(word, 'seed')).toEqual([49408, ...plain.slice(2)]);
    });

    test('seed mode drops the last line when merges.txt lacks a final line break', () => {
      expect(withExtra('').textIds(word, 'seed')).toEqual(plain);
    });
  });
});
