/**
 * Source of the pool's worker threads, run with `new Worker(src, { eval: true })`
 * so it works the same from src/ (under vitest) and from dist/. Each worker
 * instantiates the kernels module on the shared memory, then loops: wait for
 * the job generation to change, run its share of the job, count itself done.
 * The control-array slots are the ones in pool.ts (passed in as `slot`).
 */
export const WORKER_SOURCE = `
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const { module, memory, control, argBuffer, names, thread, threads, spins, slot, errorPort } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((name) => exports[name]);
const ctrl = new Int32Array(control);
const args = new Float64Array(argBuffer);
// Read before reporting ready: the first job may be posted right after.
let seen = Atomics.load(ctrl, slot.generation);
parentPort.postMessage('ready');
for (;;) {
  let n = 0;
  while (Atomics.load(ctrl, slot.generation) === seen) {
    if (++n > spins) Atomics.wait(ctrl, slot.generation, seen);
  }
  seen = Atomics.load(ctrl, slot.generation);
  const job = Atomics.load(ctrl, slot.job);
  if (job < 0) break;
  try {
    const argc = Atomics.load(ctrl, slot.argc);
    const call = Array.from(args.subarray(0, argc));
    call.push(thread, threads);
    fns[job](...call);
  } catch (error) {
    Atomics.store(ctrl, slot.failed, 1);
    errorPort.postMessage('thread ' + thread + ': ' + String((error && error.stack) || error));
  }
  if (Atomics.sub(ctrl, slot.remaining, 1) === 1) Atomics.notify(ctrl, slot.remaining);
}
`;
