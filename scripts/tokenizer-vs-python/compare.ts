// Runs our tokenizer on the prompts of make-reference.py and reports where
// it differs from the Python tokenizers. Exit code 1 on an unexplained
// difference. Run from the repository root:
//   node_modules/.bin/vite-node scripts/tokenizer-vs-python/compare.ts REFERENCE.json
import { readFileSync } from 'node:fs';
import { existingFile, parseFlagsAndPositionals } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { FormatError, UsageError } from '../../src/errors.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';

const USAGE = 'usage: compare.ts REFERENCE.json   (the file make-reference.py writes)';

interface Case {
  text: string;
  hf_bpe: number[];
  seed_ids77: number[];
  encoding_repair: boolean;
  newer_unicode: boolean;
}

function readCases(file: string): Case[] {
  let cases: unknown;
  try {
    cases = (JSON.parse(readFileSync(file, 'utf8')) as { cases?: unknown }).cases;
  } catch (err) {
    throw new FormatError(file, `not readable JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(cases)) throw new FormatError(file, 'expected an object with a "cases" array, as make-reference.py writes');
  return cases as Case[];
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => x === b[i]);
const count = { hfSame: 0, seedSame: 0, mojibake: 0, newerUnicode: 0, unexplained: 0 };
type Why = 'mojibake' | 'newerUnicode' | undefined;
function check(ok: boolean, why: Why, what: string, text: string): void {
  if (ok) return;
  if (why) count[why]++;
  else if (++count.unexplained <= 10) console.log(`${what} differs: ${JSON.stringify(text)}`);
}

function main(argv: string[]): void {
  const { positionals } = parseFlagsAndPositionals(argv, {}, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one REFERENCE.json\n${USAGE}`);
  const cases = readCases(existingFile('REFERENCE.json', positionals[0]));
  const tokenizer = ClipTokenizer.load('assets/clip-tokenizer');
  for (const c of cases) {
    const newer: Why = c.newer_unicode ? 'newerUnicode' : undefined;
    const hf = same(tokenizer.textIds(c.text, 'hf'), c.hf_bpe);
    if (hf) count.hfSame++;
    check(hf, c.encoding_repair ? 'mojibake' : newer, 'hf', c.text);
    // ftfy plays no part in seed mode, so only newer characters explain a difference.
    const seed = same(tokenizer.encode(c.text, 'seed').ids, c.seed_ids77);
    if (seed) count.seedSame++;
    check(seed, newer, 'seed', c.text);
  }
  console.log(`${cases.length} prompts:`, count);
  process.exitCode = count.unexplained > 0 ? 1 : 0;
}

runCli(main);
