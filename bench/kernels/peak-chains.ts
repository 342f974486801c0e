/**
 * SIMD multiply-add peak from register-only chains: a tiny WebAssembly
 * module, assembled here, whose loop updates 12 f32x4 accumulators as
 * a = a·y + x (relaxed_madd, or f32x4.mul then f32x4.add for plain SIMD).
 * The accumulator is a multiplicand, so nothing in the loop is invariant
 * and no optimiser can fold it; with no loads and 14 live vectors it fits
 * V8's 15 SIMD registers. Run on `threads` threads at once (the main thread
 * and threads - 1 workers of its own, synchronised through Atomics, so this
 * stays synchronous like the rest of the benchmark).
 */
import { Worker } from 'node:worker_threads';
import type { KernelVariant } from '../../src/kernels/wasm/loader.js';
import { time } from './measure.js';
import { section, uleb } from './wasm-bytes.js';

const CHAINS = 12;
/** Loop iterations per call: 12 chains x 8 flops each. */
const ITERATIONS = 2_000_000;

function f32x4Splat(value: number): number[] {
  const bytes = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
  return [0xfd, 0x0c, ...bytes]; // v128.const
}

const SIMD = {
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Mul: [0xfd, ...uleb(230)],
  relaxedMadd: [0xfd, ...uleb(0x105)],
  f32x4ExtractLane0: [0xfd, ...uleb(31), 0],
};

/** Module exporting `peak(iterations: i32) -> f32`. Locals: 0 = iterations, 1 = counter, 2.. = accumulators, then x, y. */
export function chainModuleBytes(variant: KernelVariant): Uint8Array {
  const acc = (i: number) => 2 + i;
  const x = 2 + CHAINS;
  const y = x + 1;
  const body: number[] = [];
  for (let i = 0; i < CHAINS; i++) body.push(...f32x4Splat(0.5 + i / 16), 0x21, acc(i)); // local.set
  body.push(...f32x4Splat(1e-3), 0x21, x, ...f32x4Splat(0.999), 0x21, y);
  body.push(0x03, 0x40); // loop
  for (let i = 0; i < CHAINS; i++) {
    body.push(0x20, acc(i), 0x20, y); // local.get a, local.get y
    if (variant === 'relaxed') body.push(0x20, x, ...SIMD.relaxedMadd);
    else body.push(...SIMD.f32x4Mul, 0x20, x, ...SIMD.f32x4Add);
    body.push(0x21, acc(i));
  }
  // counter += 1; br_if loop (counter < iterations)
  body.push(0x20, 1, 0x41, 1, 0x6a, 0x22, 1, 0x20, 0, 0x48, 0x0d, 0, 0x0b);
  body.push(0x20, acc(0));
  for (let i = 1; i < CHAINS; i++) body.push(0x20, acc(i), ...SIMD.f32x4Add);
  body.push(...SIMD.f32x4ExtractLane0, 0x0b);
  const locals = [2, 1, 0x7f, CHAINS + 2, 0x7b]; // 1 i32, CHAINS + 2 v128
  const func = [...locals, ...body];
  const name = [...new TextEncoder().encode('peak')];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // type: (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, [1, ...uleb(func.length), ...func]),
  ]);
}

/** Control slots shared with the workers. */
const GENERATION = 0;
const REMAINING = 1;
const READY = 2;
const STOP = 3;

const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const { module, control, iterations } = workerData;
const peak = new WebAssembly.Instance(module).exports.peak;
const ctrl = new Int32Array(control);
let seen = Atomics.load(ctrl, ${GENERATION});
Atomics.add(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
for (;;) {
  Atomics.wait(ctrl, ${GENERATION}, seen);
  seen = Atomics.load(ctrl, ${GENERATION});
  if (Atomics.load(ctrl, ${STOP})) break;
  peak(iterations);
  if (Atomics.sub(ctrl, ${REMAINING}, 1) === 1) Atomics.notify(ctrl, ${REMAINING});
}
`;

export interface ChainPeak {
  gflops: number;
  gflopsPerCpuSecond: number;
}

/**
 * GFLOP/s of the register chains on `threads` threads at once (wall time)
 * and per process CPU-second. The variant's SIMD must be enabled in this
 * process (the benchmark sets the relaxed-SIMD flag before anything else).
 */
export function measureChainPeak(variant: KernelVariant, threads: number, maxTimeSeconds: number): ChainPeak {
  const module = new WebAssembly.Module(chainModuleBytes(variant));
  const peak = (new WebAssembly.Instance(module).exports as { peak: (n: number) => number }).peak;
  const ctrl = new Int32Array(new SharedArrayBuffer(16));
  const workers: Worker[] = [];
  for (let t = 1; t < threads; t++) {
    workers.push(new Worker(WORKER_SOURCE, { eval: true, workerData: { module, control: ctrl.buffer, iterations: ITERATIONS } }));
  }
  try {
    // Worker threads start on their own; wait for each to be ready, without the event loop.
    const deadline = Date.now() + 30_000;
    for (let ready = Atomics.load(ctrl, READY); ready < workers.length; ready = Atomics.load(ctrl, READY)) {
      if (Date.now() > deadline) throw new Error(`peak chains: ${workers.length - ready} worker(s) did not start`);
      Atomics.wait(ctrl, READY, ready, 1000);
    }
    const runAll = () => {
      Atomics.store(ctrl, REMAINING, workers.length);
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
      peak(ITERATIONS);
      for (let left = Atomics.load(ctrl, REMAINING); left > 0; left = Atomics.load(ctrl, REMAINING)) {
        Atomics.wait(ctrl, REMAINING, left);
      }
    };
    const flops = threads * ITERATIONS * CHAINS * 8;
    const t = time(`peak chains x${threads}`, runAll, maxTimeSeconds);
    return { gflops: flops / t.medianMs / 1e6, gflopsPerCpuSecond: flops / t.cpuMs / 1e6 };
  } finally {
    Atomics.store(ctrl, STOP, 1);
    Atomics.add(ctrl, GENERATION, 1);
    Atomics.notify(ctrl, GENERATION);
    for (const worker of workers) worker.unref();
  }
}
