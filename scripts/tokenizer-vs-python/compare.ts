// Runs our tokenizer on the prompts of make-reference.py and reports where
// it differs from the Python tokenizers. Exit code 1 on an unexplained
// difference. Run from the repository root:
//   node_modules/.bin/vite-node scripts/tokenizer-vs-python/compare.ts REFERENCE.json
import { readFileSync } from 'node:fs';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';

interface Case {
  text: string;
  hf_bpe: number[];
  seed_ids77: number[];
  encoding_repair: boolean;
  newer_unicode: boolean;
}

const path = process.argv[2];
if (!path) throw new Error('usage: compare.ts REFERENCE.json');
const { cases } = JSON.parse(readFileSync(path, 'utf8')) as { cases: Case[] };
const tokenizer = ClipTokenizer.load('assets/clip-tokenizer');

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => x === b[i]);
const count = { hfSame: 0, seedSame: 0, mojibake: 0, newerUnicode: 0, unexplained: 0 };
type Why = 'mojibake' | 'newerUnicode' | undefined;
function check(ok: boolean, why: Why, what: string, text: string): void {
  if (ok) return;
  if (why) count[why]++;
  else if (++count.unexplained <= 10) console.log(`${what} differs: ${JSON.stringify(text)}`);
}

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
