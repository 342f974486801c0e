/** RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: NHWC input, output size [h, w] from constant input 1. */
import { UsageError } from '../../errors.js';
import { resizeBilinear, resizeNearest } from '../../kernels/reference/resize.js';
import { checkCounts, checkType, constantInts, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

export function resizeOp(name: 'RESIZE_NEAREST_NEIGHBOR' | 'RESIZE_BILINEAR'): OpDefinition {
  const sizeOf = (node: Node): [number, number] => {
    const size = constantInts(node, 1, 'size');
    if (size.length !== 2 || size.some((d) => d < 1)) throw new UsageError(`${name} size must be two positive values, got [${size.join(', ')}]`);
    return [size[0]!, size[1]!];
  };
  return {
    name,
    prepare(node) {
      checkCounts(node, [2, 2], 1);
      const x = input(node, 0);
      checkType(x, ['FLOAT32'], `${name} input`);
      if (x.shape.length !== 4) throw new UsageError(`${name} input must be NHWC, got [${x.shape.join(', ')}]`);
      const [h, w] = sizeOf(node);
      setShape(output(node), [x.shape[0]!, h, w, x.shape[3]!]);
    },
    run(node) {
      const o = optionsOf(node, name);
      const options = { alignCorners: o.alignCorners, halfPixelCenters: o.halfPixelCenters };
      const x = input(node, 0).asTensor();
      // Nearest writes straight into the output (SD's upsamplers: no temporary of the output's size).
      if (name === 'RESIZE_NEAREST_NEIGHBOR') resizeNearest(x, sizeOf(node), options, output(node).f32());
      else store(output(node), resizeBilinear(x, sizeOf(node), options));
    },
  };
}
