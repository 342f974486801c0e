/**
 * The int8 dot product of the hybrid int8 GEMM's 'u7' layout (assembly/
 * gemm-int8.ts dotAdd: i16x8.relaxed_dot_i8x16_i7x16_s, then
 * i32x4.dot_i16x8_s with a register of ones, then i32x4.add: "pair" below)
 * against relaxed SIMD's single instruction for it,
 * i32x4.relaxed_dot_i8x16_i7x16_add_s ("fused"), on the running engine:
 *
 * - whether each gives dot(w, a) + acc exactly under V8's baseline compiler
 *   (Liftoff) and under its optimising one (TurboFan), each checked in a
 *   child process of this script started with `--liftoff --no-wasm-tier-up`
 *   or `--no-liftoff` (flags every Node version from 20 on knows);
 * - int8 multiply-adds per CPU-second of each in register-only loops, next
 *   to the float multiply-add peak of the same run (peak-chains.ts).
 *
 * Loops: 8 i32x4 accumulators, each updated as acc = dot(acc, a) + acc
 * (the accumulator's bytes as the int8 operand, a fixed 7-bit vector as the
 * other), so nothing in the loop is invariant. 8 chains measured fastest
 * here (Node 20, AMD EPYC: pair 108 GOP per CPU-second; 6 chains 89; 10-12
 * chains 73-87, with 12-14 live vectors plus temporaries against V8's 15
 * SIMD registers). One thread: the rates are per core.
 *
 *   npm run bench -- relaxed-dot [--max-time SECONDS]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { parseFlags, positiveNumber } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { SdError } from '../../src/errors.js';
import { enableRelaxedSimd } from '../../src/kernels/wasm/loader.js';
import { section, sleb, uleb } from './wasm-bytes.js';
import { time } from './measure.js';
import { measureChainPeak } from './peak-chains.js';

export type DotForm = 'pair' | 'fused';
export const DOT_FORMS: readonly DotForm[] = ['pair', 'fused'];

const CHAINS = 8;
/** Loop iterations per timed call. */
const ITERATIONS = 1_000_000;
/** Every byte of the 7-bit operand in the loops. */
export const LOOP_A = 53;

const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const OP = {
  v128Load: [...simd(0), 4, 0], // align 16, offset 0
  v128Store: [...simd(11), 4, 0],
  i8x16Splat: simd(15),
  i16x8Splat: simd(16),
  i32x4Splat: simd(17),
  i32x4ExtractLane0: [...simd(27), 0],
  i32x4Add: simd(174),
  i32x4DotI16x8S: simd(186),
  relaxedDotI8x16I7x16S: simd(0x112),
  relaxedDotI8x16I7x16AddS: simd(0x113),
};
const localGet = (i: number) => [0x20, i];
const localSet = (i: number) => [0x21, i];

/**
 * dot(w, a) + acc from three values got by `w`, `a`, `acc` (code that
 * pushes each), leaving the result on the stack; `ones` pushes i16x8(1).
 */
function dotAdd(form: DotForm, w: number[], a: number[], acc: number[], ones: number[]): number[] {
  if (form === 'fused') return [...w, ...a, ...acc, ...OP.relaxedDotI8x16I7x16AddS];
  return [...acc, ...w, ...a, ...OP.relaxedDotI8x16I7x16S, ...ones, ...OP.i32x4DotI16x8S, ...OP.i32x4Add];
}

/** `loop(iterations) -> i32`: the 12 chains; returns lane 0 of their sum (so nothing is dead). */
function loopBody(form: DotForm): number[] {
  // Locals: 0 = iterations, 1 = counter, 2.. = accumulators, then a, ones.
  const acc = (i: number) => 2 + i;
  const a = 2 + CHAINS;
  const ones = a + 1;
  const body: number[] = [];
  for (let i = 0; i < CHAINS; i++) body.push(0x41, ...sleb(0x01010101 * (i + 1)), ...OP.i32x4Splat, ...localSet(acc(i)));
  body.push(0x41, ...sleb(LOOP_A), ...OP.i8x16Splat, ...localSet(a));
  body.push(0x41, 1, ...OP.i16x8Splat, ...localSet(ones));
  body.push(0x03, 0x40); // loop
  for (let i = 0; i < CHAINS; i++) {
    body.push(...dotAdd(form, localGet(acc(i)), localGet(a), localGet(acc(i)), localGet(ones)), ...localSet(acc(i)));
  }
  // counter += 1; br_if loop (counter < iterations)
  body.push(0x20, 1, 0x41, 1, 0x6a, 0x22, 1, 0x20, 0, 0x48, 0x0d, 0, 0x0b);
  body.push(...localGet(acc(0)));
  for (let i = 1; i < CHAINS; i++) body.push(...localGet(acc(i)), ...OP.i32x4Add);
  body.push(...OP.i32x4ExtractLane0, 0x0b);
  return [2, 1, 0x7f, CHAINS + 2, 0x7b, ...body]; // 1 i32, CHAINS + 2 v128
}

/** `check()`: w at bytes 0-15, a at 16-31, acc at 32-47 of memory; stores dot(w, a) + acc at 48. */
function checkBody(form: DotForm): number[] {
  const load = (address: number) => [0x41, address, ...OP.v128Load];
  const body = [0x41, 48, ...dotAdd(form, load(0), load(16), load(32), [0x41, 1, ...OP.i16x8Splat]), ...OP.v128Store, 0x0b];
  return [0, ...body]; // no locals
}

/** Module exporting `loop_pair`, `loop_fused` (i32) -> i32, `check_pair`, `check_fused` () -> () and its memory. */
export function relaxedDotModuleBytes(): Uint8Array {
  const bodies = [...DOT_FORMS.map(loopBody), ...DOT_FORMS.map(checkBody)];
  const names = [...DOT_FORMS.map((f) => `loop_${f}`), ...DOT_FORMS.map((f) => `check_${f}`)];
  const text = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
  const exports = [names.length + 1, ...names.flatMap((name, i) => [...text(name), 0x00, i]), ...text('memory'), 0x02, 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 0]), // types: (i32) -> i32, () -> ()
    ...section(3, [4, 0, 0, 1, 1]),
    ...section(5, [1, 0, 1]), // memory: 1 page
    ...section(7, exports),
    ...section(10, [bodies.length, ...bodies.flatMap((b) => [...uleb(b.length), ...b])]),
  ]);
}

export interface RelaxedDotInstance {
  loop: Record<DotForm, (iterations: number) => number>;
  check: Record<DotForm, () => void>;
  memory: WebAssembly.Memory;
}

/** Compiles and instantiates the module (relaxed SIMD must validate in this process). */
export function instantiateRelaxedDot(): RelaxedDotInstance {
  const e = new WebAssembly.Instance(new WebAssembly.Module(relaxedDotModuleBytes())).exports as Record<string, unknown>;
  const pick = <T>(prefix: string) => Object.fromEntries(DOT_FORMS.map((f) => [f, e[`${prefix}_${f}`] as T])) as Record<DotForm, T>;
  return { loop: pick('loop'), check: pick('check'), memory: e.memory as WebAssembly.Memory };
}

/** Fixed check inputs: w over the whole int8 range, a over [0, 127], acc with both signs. */
export const CHECK_W = Int8Array.from({ length: 16 }, (_, i) => (i * 37) % 256 - 128);
export const CHECK_A = Uint8Array.from({ length: 16 }, (_, i) => (i * 29 + 3) % 128);
export const CHECK_ACC = Int32Array.from([1_000_003, -77, 0, -2_000_000_001]);

/** dot(w, a) + acc per i32 lane, in exact integers (|sums| stay far from i32 limits here). */
export function referenceDotAdd(w: Int8Array, a: Uint8Array, acc: Int32Array): Int32Array {
  return Int32Array.from(acc, (c, lane) => {
    let sum = c;
    for (let k = 4 * lane; k < 4 * lane + 4; k++) sum += w[k]! * a[k]!;
    return sum;
  });
}

/** Runs `check` of a form on the fixed inputs; returns its four lanes. */
export function runCheck(instance: RelaxedDotInstance, form: DotForm): Int32Array {
  const bytes = new Uint8Array(instance.memory.buffer);
  bytes.set(new Uint8Array(CHECK_W.buffer), 0);
  bytes.set(CHECK_A, 16);
  bytes.set(new Uint8Array(CHECK_ACC.buffer), 32);
  instance.check[form]();
  return new Int32Array(instance.memory.buffer, 48, 4).slice();
}

interface TierResult {
  tier: 'Liftoff' | 'TurboFan';
  expected: number[];
  results: Record<DotForm, number[]>;
}

const TIER_FLAGS = { Liftoff: ['--liftoff', '--no-wasm-tier-up'], TurboFan: ['--no-liftoff'] } as const;

/** The check of both forms in a child process compiled by one tier only. */
function checkInTier(tier: keyof typeof TIER_FLAGS): TierResult {
  const child = spawnSync(process.execPath, [...TIER_FLAGS[tier], fileURLToPath(import.meta.url), '--check-only'], { encoding: 'utf8' });
  if (child.status !== 0) throw new SdError(`relaxed-dot check under ${tier} failed (exit ${child.status}): ${child.stderr}`);
  return { tier, ...JSON.parse(child.stdout.trim().split('\n').at(-1)!) };
}

function checkHere(): Omit<TierResult, 'tier'> {
  const instance = instantiateRelaxedDot();
  const results = Object.fromEntries(DOT_FORMS.map((f) => [f, [...runCheck(instance, f)]])) as Record<DotForm, number[]>;
  return { expected: [...referenceDotAdd(CHECK_W, CHECK_A, CHECK_ACC)], results };
}

const USAGE = `usage: npm run bench -- relaxed-dot [--max-time SECONDS]

  --max-time SECONDS  time per measurement (default 1)`;

/** `npm run bench -- relaxed-dot` (bench/main.ts), or this file run directly, which the tier checks do. */
export async function run(args: string[]): Promise<void> {
  const v = parseFlags(args, { 'max-time': { type: 'string' }, 'check-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (v.help) {
    console.log(USAGE);
    return;
  }
  if (!enableRelaxedSimd()) throw new SdError('this engine cannot validate relaxed SIMD');
  if (v['check-only']) {
    console.log(JSON.stringify(checkHere()));
    return;
  }
  const maxTime = v['max-time'] === undefined ? 1 : positiveNumber('--max-time', v['max-time']);
  console.log(`node ${process.version}, V8 ${process.versions.v8}`);
  for (const tier of ['Liftoff', 'TurboFan'] as const) {
    const r = checkInTier(tier);
    const verdict = (f: DotForm) => (r.results[f].every((x, i) => x === r.expected[i]) ? 'exact' : `WRONG [${r.results[f].join(', ')}]`);
    console.log(`${tier.padEnd(8)} pair ${verdict('pair')}, fused ${verdict('fused')} (expected [${r.expected.join(', ')}])`);
  }
  setFlagsFromString('--no-liftoff'); // time TurboFan's code, as the kernels run (loader.ts)
  const instance = instantiateRelaxedDot();
  const sums = DOT_FORMS.map((f) => instance.loop[f](1000));
  if (sums[0] !== sums[1]) throw new SdError(`the pair and fused loops disagree: ${sums.join(' vs ')}`);
  const fma = measureChainPeak('relaxed', 1, maxTime);
  console.log(`f32x4.relaxed_madd chains   ${fma.gflopsPerCpuSecond.toFixed(1)} GFLOP per CPU-second`);
  const rates: Record<string, number> = { fmaGflopsPerCpuSecond: fma.gflopsPerCpuSecond };
  for (const form of DOT_FORMS) {
    const t = time(`relaxed dot ${form}`, () => instance.loop[form](ITERATIONS), maxTime);
    const gops = (ITERATIONS * CHAINS * 16 * 2) / t.cpuMs / 1e6; // a multiply-add = 2 ops
    rates[`${form}GopsPerCpuSecond`] = gops;
    console.log(`int8 dot ${form.padEnd(5)}              ${gops.toFixed(1)} GOP per CPU-second`);
  }
  console.log(`fused / pair: ${(rates.fusedGopsPerCpuSecond! / rates.pairGopsPerCpuSecond!).toFixed(2)}`);
  console.log(JSON.stringify({ node: process.version, v8: process.versions.v8, ...rates }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) runCli(() => run(process.argv.slice(2)));
