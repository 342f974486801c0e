import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runTs } from '../support/run-cli.js';

// npm run generate, given bad input, prints one `error:` line naming the flag
// as typed (--steps, not the library's `steps`) and exits 2 with no output
// file: each case is the real CLI in its own process (bad-flags.test.ts's pattern).
// The checks made while parsing are also run in process, with more cases, in
// test/pipeline/generate-cli.test.ts.
const work = mkdtempSync(join(tmpdir(), 'generate-bad-flags-'));
const aFile = join(work, 'file.txt');
writeFileSync(aFile, 'not a folder');
const output = join(work, 'out.png');
const base = ['--models', work, '--prompt', 'x', '--output', output];

const cases: { args: string[]; error: RegExp }[] = [
  { args: ['--models', aFile, '--prompt', 'x', '--output', output], error: /^error: --models: .*file\.txt is not a folder\n$/ },
  { args: [...base, '--init-image', aFile, '--strength', '0.01'], error: /^error: --strength 0\.01 with --steps 20 runs no denoising step \(floor\(steps x strength\) = 0\); raise the strength or the steps\n$/ },
  { args: [...base, '--emphasis', 'strong'], error: /^error: --emphasis must be one of off, a1111, got "strong"\n$/ },
  { args: [...base, '--seed', '4294967290', '--batch-count', '7'], error: /^error: --seed 4294967290 with --batch-count 7 runs past the largest seed, 4294967295\n$/ },
];

describe.concurrent('generate: bad command lines', () => {
  for (const c of cases) {
    test(c.args.join(' ').replaceAll(work, '<tmp>'), async () => {
      const r = await runTs('src/cli/generate.ts', c.args);
      expect(r.stderr).toMatch(c.error);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.status, r.stderr).toBe(2);
      expect(existsSync(output)).toBe(false);
      expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }
});
