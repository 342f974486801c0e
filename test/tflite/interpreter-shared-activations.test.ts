// Several models' activations in one region of kernel memory
// (SharedActivationRegion): models that never run at the same time plan
// their activations from the same base, so the region is the biggest plan,
// not the sum, and results are those of models with arenas of their own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { SharedActivationRegion } from '../../src/tflite/interpreter/tensor-arena.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random } from './ops-harness.js';

let runtime: KernelRuntime;
beforeAll(async () => {
  runtime = await createKernelRuntime({ threads: 2, variant: 'simd' });
});
afterAll(async () => {
  await runtime?.close();
});

/** x [-1, d] -> FC (relu) -> FC -> ADD(x) -> y: intermediates of rows·d floats each. */
function model(d: number, seed: number): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [-1, d]);
  let h = x;
  for (let layer = 0; layer < 2; layer++) {
    const w = g.addConstant(`w${layer}`, 'FLOAT32', [d, d], bytesOf(random(d * d, seed + layer, -0.2, 0.2)));
    const b = g.addConstant(`b${layer}`, 'FLOAT32', [d], bytesOf(random(d, seed + 10 + layer)));
    const y = g.addTensor(`h${layer}`, 'FLOAT32', [-1, d]);
    g.addOperator('FULLY_CONNECTED', [h, w, b], [y], { fusedActivationFunction: layer === 0 ? 'RELU' : 'NONE' });
    h = y;
  }
  const out = g.addTensor('y', 'FLOAT32', [-1, d]);
  g.addOperator('ADD', [h, x], [out]);
  g.markOutput(out);
  return m.toBuffer();
}

function runner(interp: Interpreter, rows: number, d: number) {
  const r = interp.getSignatureRunner();
  r.resizeInput('x', [rows, d]);
  return (x: Float32Array) => Object.values(r.invoke({ x }))[0]!.data as Float32Array;
}

describe('SharedActivationRegion', () => {
  it('two models share one region the size of the bigger plan, with the results of separate arenas', () => {
    const [small, big] = [{ d: 24, rows: 5, seed: 1 }, { d: 40, rows: 300, seed: 7 }];
    const alone = (c: typeof small) => {
      const interp = Interpreter.load(model(c.d, c.seed), wasmInterpreterOptions(runtime));
      const run = runner(interp, c.rows, c.d);
      interp.getSignatureRunner().outputDetails(); // plans (and allocates) now, not inside the measured span below
      return { interp, run, plan: () => interp.getSignatureRunner().executor.memoryPlan!.totalBytes };
    };
    const refSmall = alone(small);
    const refBig = alone(big);

    const region = new SharedActivationRegion(runtime.arena);
    const options = wasmInterpreterOptions(runtime);
    const a = Interpreter.load(model(small.d, small.seed), { ...options, arena: region.factory() });
    const b = Interpreter.load(model(big.d, big.seed), { ...options, arena: region.factory() });
    const runA = runner(a, small.rows, small.d);
    const runB = runner(b, big.rows, big.d);
    // Both planned before either runs (as the pipeline prepares): one region, the bigger plan.
    a.getSignatureRunner().outputDetails();
    b.getSignatureRunner().outputDetails();
    const planA = a.getSignatureRunner().executor.memoryPlan!.totalBytes;
    const planB = b.getSignatureRunner().executor.memoryPlan!.totalBytes;
    expect(planB).toBeGreaterThan(4 * planA);
    expect(region.reservedBytes).toBe(planB);

    const top = runtime.arena.top;
    const xs = [1, 2, 3].map((s) => ({ a: random(small.rows * small.d, 100 + s), b: random(big.rows * big.d, 200 + s) }));
    for (const x of xs) {
      // Alternate, so each run finds the other model's values in the region.
      expect(runA(x.a)).toEqual(refSmall.run(x.a));
      expect(runB(x.b)).toEqual(refBig.run(x.b));
    }
    // The region took planB bytes (plus alignment), not planA + planB.
    expect(runtime.arena.top - top).toBeLessThan(planB + 128);
    expect(runtime.arena.top - top).toBeGreaterThanOrEqual(planB);
    expect(refBig.plan()).toBe(planB);

    // A bigger plan later takes a new region; results stay right.
    const runB2 = runner(b, 2 * big.rows, big.d);
    const refB2 = runner(refBig.interp, 2 * big.rows, big.d);
    const x2 = random(2 * big.rows * big.d, 300);
    expect(runB2(x2)).toEqual(refB2(x2));
    expect(runA(xs[0]!.a)).toEqual(refSmall.run(xs[0]!.a));
    for (const i of [a, b, refSmall.interp, refBig.interp]) i.close();
  });

  it("hands the region to a model's first executor only (composite decompositions run inside it)", () => {
    const region = new SharedActivationRegion(runtime.arena);
    const factory = region.factory();
    const first = factory();
    const second = factory();
    first.reserve(1000);
    second.reserve(1000);
    const [r1, r2] = [first.region(), second.region()];
    expect(Math.abs(r1.byteOffset - r2.byteOffset)).toBeGreaterThanOrEqual(1000);
    // Another model's first executor: the same region.
    const other = region.factory()();
    other.reserve(500);
    expect(other.region().byteOffset).toBe(first.region().byteOffset);
  });
});
