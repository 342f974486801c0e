// The pipeline's RESIZE_NEAREST_NEIGHBOR for exact 2x upsamples
// (src/pipeline/nearest-upsample.ts) writes into its output and must give
// the reference kernel's values bit for bit; other resizes it declines.
import { describe, expect, it } from 'vitest';
import { nearestUpsample2x } from '../../src/pipeline/nearest-upsample.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random } from '../tflite/ops-harness.js';

function resizeModel(inShape: number[], size: [number, number], options: { alignCorners?: boolean; halfPixelCenters?: boolean } = {}): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', inShape);
  const s = g.addConstant('size', 'INT32', [2], bytesOf(Int32Array.from(size)));
  const y = g.addTensor('y', 'FLOAT32', [inShape[0]!, size[0], size[1], inShape[3]!]);
  g.addOperator('RESIZE_NEAREST_NEIGHBOR', [x, s], [y], options);
  g.markOutput(y);
  return m.toBuffer();
}

/** Runs the model with and without the override; says whether the override took the node. */
function compare(inShape: number[], size: [number, number], options = {}) {
  const file = resizeModel(inShape, size, options);
  const x = random(inShape.reduce((a, d) => a * d, 1), 4);
  let used = false;
  const counting = { ...nearestUpsample2x, run: (...a: Parameters<typeof nearestUpsample2x.run>) => ((used = true), nearestUpsample2x.run(...a)) };
  const fast = Interpreter.load(file, { kernels: { RESIZE_NEAREST_NEIGHBOR: counting } });
  const plain = Interpreter.load(file);
  const got = fast.getSignatureRunner().invoke({ x }).y!.data;
  const want = plain.getSignatureRunner().invoke({ x }).y!.data;
  return { got, want, used };
}

describe('nearestUpsample2x', () => {
  it.each([
    [[1, 4, 6, 3]],
    [[2, 3, 5, 7]],
    [[1, 1, 1, 16]],
  ])('2x of %j: the reference values, bit for bit', (shape) => {
    const { got, want, used } = compare(shape, [2 * shape[1]!, 2 * shape[2]!]);
    expect(used).toBe(true);
    expect(got).toEqual(want);
  });

  it.each([
    ['3x', [1, 4, 4, 2], [12, 12], {}],
    ['2x in one dim only', [1, 4, 4, 2], [8, 4], {}],
    ['align_corners', [1, 4, 4, 2], [8, 8], { alignCorners: true }],
    ['half_pixel_centers', [1, 4, 4, 2], [8, 8], { halfPixelCenters: true }],
  ] as const)('declines %s (the reference kernel runs)', (_what, shape, size, options) => {
    const { got, want, used } = compare([...shape], [...size] as [number, number], options);
    expect(used).toBe(false);
    expect(got).toEqual(want);
  });
});
