import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT, runTs, type ProcessResult } from '../support/run-cli.js';

// Every command line, given bad input, prints one `error:` line naming the
// argument (then, for parse errors, the usage) and exits 2, never an
// "internal error" with a stack trace. Each case is its own process (the
// real CLI through vite-node), so they run side by side.
const work = mkdtempSync(join(tmpdir(), 'bad-flags-'));
const aFile = join(work, 'file.txt');
writeFileSync(aFile, 'not a folder');
const TFLITE = join(ROOT, 'test', 'fixtures', 'tflite-corpus', 'models', 'tfjs_add4.tflite');
const CKPT = join(ROOT, 'test', 'fixtures', 'tiny-a', 'tiny-a.safetensors');

const cases: { script: string; args: string[]; error: RegExp }[] = [
  { script: 'bench/main.ts', args: ['e2e', '--bogus'], error: /^error: Unknown option '--bogus'\nusage: npm run bench -- e2e/ },
  { script: 'bench/main.ts', args: ['e2e', '--threads', 'abc'], error: /^error: --threads must be a whole number >= 1, got "abc"\n$/ },
  { script: 'bench/main.ts', args: ['e2e', '--steps-to-time', '-1'], error: /^error: --steps-to-time must be a whole number >= 0, got "-1"\n$/ },
  { script: 'bench/main.ts', args: ['e2e', '--batch', '3'], error: /^error: --batch must be a whole number from 1 to 2, got "3"\n$/ },
  { script: 'bench/main.ts', args: ['conv', '--batch', '1.5'], error: /^error: --batch must be a whole number >= 1, got "1.5"\n$/ },
  { script: 'bench/main.ts', args: ['no-such-suite'], error: /^error: unknown benchmark suite no-such-suite\n/ },
  { script: 'bench/e2e/child.ts', args: ['--models', work, '--out', join(work, 'r.json'), '--width', '100'], error: /^error: --width must be a multiple of 8, got 100\n$/ },
  { script: 'bench/io/safetensors-table.ts', args: [join(work, 'none.safetensors')], error: /^error: FILE\.safetensors: file .*none\.safetensors does not exist\n$/ },
  { script: 'src/cli/convert.ts', args: ['--ckpt', CKPT, '--out', work, '--width', '-64', '--height', '64'], error: /^error: --width must be a positive multiple of \d+, got "-64"\n$/ },
  { script: 'src/cli/tflite.ts', args: ['run', TFLITE, '--output-dir', join(aFile, 'out')], error: /^error: --output-dir: cannot make folder .*file\.txt\/out/ },
  { script: 'src/cli/demo.ts', args: ['--steps', 'many'], error: /^error: --steps must be a whole number, got "many"\n$/ },
];

function expectCleanError(r: ProcessResult, error: RegExp): void {
  expect(r.stderr).toMatch(error);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.status, r.stderr).toBe(2);
}

describe.concurrent('bad command lines', () => {
  for (const c of cases) {
    test(`${c.script} ${c.args.join(' ').replaceAll(work, '<tmp>').replaceAll(ROOT, '.')}`, async () => {
      expectCleanError(await runTs(c.script, c.args), c.error);
    });
  }

  test('bench -- e2e --help prints the suite usage and exits 0', async () => {
    const r = await runTs('bench/main.ts', ['e2e', '--help']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: npm run bench -- e2e .*--steps-to-time N/s);
    expect(r.status).toBe(0);
  });
});
