// The relaxed-dot benchmark's module (bench/kernels/relaxed-dot.ts): its
// check functions and timed loops compute dot(w, a) + acc exactly, against
// plain integer arithmetic. Compiled by TurboFan only (as the kernels are,
// loader.ts): Node 20's Liftoff gets the single-instruction form wrong,
// which the benchmark itself reports.
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  CHECK_A, CHECK_ACC, CHECK_W, DOT_FORMS, LOOP_A, instantiateRelaxedDot, referenceDotAdd, runCheck,
} from '../../bench/kernels/relaxed-dot.js';
import { enableRelaxedSimd } from '../../src/kernels/wasm/loader.js';

const relaxed = enableRelaxedSimd();
setFlagsFromString('--no-liftoff');

/** What loop(iterations) returns: 8 chains acc = dot(acc bytes, a) + acc from splat(0x01010101 · (i + 1)), lane 0 of their sum. */
function loopReference(iterations: number): number {
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const acc = new Int32Array(4).fill(0x01010101 * (i + 1));
    const a = new Uint8Array(16).fill(LOOP_A);
    for (let n = 0; n < Math.max(1, iterations); n++) acc.set(referenceDotAdd(new Int8Array(acc.slice().buffer), a, acc));
    sum = (sum + acc[0]!) | 0;
  }
  return sum;
}

describe.runIf(relaxed)('relaxed-dot benchmark module', () => {
  const instance = instantiateRelaxedDot();

  it.each(DOT_FORMS)('%s: the check computes dot(w, a) + acc on the full int8 range', (form) => {
    expect([...runCheck(instance, form)]).toEqual([...referenceDotAdd(CHECK_W, CHECK_A, CHECK_ACC)]);
  });

  it.each(DOT_FORMS)('%s: the timed loop computes its chains exactly', (form) => {
    expect(instance.loop[form](5)).toBe(loopReference(5));
    expect(instance.loop[form](1)).toBe(loopReference(1));
  });
});
