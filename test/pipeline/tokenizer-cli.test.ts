import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT, runTs } from '../support/run-cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'clip-tokenizer');
const VOCAB = join(ROOT, 'assets', 'clip-tokenizer');
const cases: { name: string; text: string; seed_ids77: number[]; openai_sd_ids77: number[]; seed_bpe: number[]; openai_bpe: number[] }[] =
  JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')).cases;

// Runs the real CLI (TypeScript through vite-node, no build step needed).
const tokenize = (...args: string[]) => runTs('src/cli/tokenize.ts', args);

// Each run starts a process; run them side by side.
describe.concurrent('npm run tokenize', () => {
  test('prints the 77 ids as JSON on one line, then the text token count (hf by default)', async () => {
    const c = cases.find((x) => x.name === 'html_entities')!;
    const r = await tokenize('--tokenizer', VOCAB, '--prompt', c.text);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(JSON.parse(lines[0]!)).toEqual(c.openai_sd_ids77);
    expect(lines.slice(1)).toEqual([`text tokens: ${c.openai_bpe.length}`, '']);
  });

  test('without --tokenizer: the bundled CLIP vocabulary', async () => {
    const c = cases.find((x) => x.name === 'html_entities')!;
    const r = await tokenize('--prompt', c.text);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.split('\n')[0]!)).toEqual(c.openai_sd_ids77);
  });

  test('--tokenizer-mode seed, truncated: warns how many tokens were dropped', async () => {
    const c = cases.find((x) => x.name === 'long_prompt')!;
    const r = await tokenize('--tokenizer', VOCAB, '--prompt', c.text, '--tokenizer-mode', 'seed');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(JSON.parse(lines[0]!)).toEqual(c.seed_ids77);
    expect(lines[1]).toBe('text tokens: 76');
    expect(r.stderr).toBe(
      `warning: the prompt is ${c.seed_bpe.length} tokens; the text encoder reads 76, so the last ${c.seed_bpe.length - 76} tokens were dropped; the end token was dropped too, as the reference pipeline does\n`,
    );
  });

  test('hf mode, truncated', async () => {
    const c = cases.find((x) => x.name === 'n76_tokens')!;
    const r = await tokenize('--tokenizer', VOCAB, '--prompt', c.text, '--tokenizer-mode', 'hf');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.split('\n')[0]!)).toEqual(c.openai_sd_ids77);
    expect(r.stderr).toBe('warning: the prompt is 76 tokens; the text encoder reads 75, so the last token was dropped\n');
  });

  test('emphasis: off by default (the shared case reads as the reference tokenizers, with a hint); a1111 weights it', async () => {
    const c = cases.find((x) => x.name === 'weights_syntax')!;
    const off = await tokenize('--prompt', c.text);
    expect(off.status).toBe(0);
    expect(JSON.parse(off.stdout.split('\n')[0]!)).toEqual(c.openai_sd_ids77);
    expect(off.stderr).toMatch(/^warning: the prompt has emphasis brackets .*--emphasis a1111/);

    const on = await tokenize('--prompt', c.text, '--emphasis', 'a1111');
    expect(on.status, on.stderr).toBe(0);
    const [ids, count, weights] = on.stdout.split('\n');
    const plain = await tokenize('--prompt', 'masterpiece, best quality, lowres, {detailed}');
    expect(ids).toBe(plain.stdout.split('\n')[0]);
    expect(count).toBe(plain.stdout.split('\n')[1]);
    // masterpiece (1 token) at 1.2, lowres (2 tokens: low, res) at 1/1.1.
    expect(JSON.parse(weights!.slice('weights: '.length)).slice(0, 8)).toEqual([1, 1.2, 1, 1, 1, 1, 0.909091, 0.909091]);
  });

  test.each([
    [['--tokenizer', VOCAB, '--prompt', 'x', '--emphasis', 'yes'], 2, /--emphasis must be one of off, a1111, got "yes"/],
    [['--tokenizer', VOCAB], 2, /--prompt TEXT is required/],
    [['--tokenizer', VOCAB, '--prompt', 'x', '--tokenizer-mode', 'clip'], 2, /--tokenizer-mode must be one of hf, seed, got "clip"/],
    [['--tokenizer', VOCAB, '--prompt', 'x', '--steps', '3'], 2, /Unknown option '--steps'/],
    [['--tokenizer', join(VOCAB, 'nowhere'), '--prompt', 'x'], 1, /nowhere[/\\]vocab\.json: cannot read the tokenizer's vocabulary: file not found/],
  ])('bad arguments %j exit %i with a clear message', async (args, status, message) => {
    const r = await tokenize(...args);
    expect(r.status).toBe(status);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
