/** CONV_2D: input NHWC, filter OHWI (FLOAT32, FLOAT16 or per-channel INT8), optional bias; stride, dilation, SAME/VALID, fused activation. */
import { UsageError } from '../../errors.js';
import { conv2d } from '../../kernels/reference/conv2d.js';
import { windowAxis } from '../../kernels/reference/padding.js';
import { checkCounts, checkType, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { floatOperand, fusedActivation } from './shared.js';

function prepare(node: Node): void {
  checkCounts(node, [2, 3], 1);
  const o = optionsOf(node, 'CONV_2D');
  const x = input(node, 0);
  const filter = input(node, 1);
  checkType(x, ['FLOAT32'], 'CONV_2D input');
  if (x.shape.length !== 4 || filter.shape.length !== 4) {
    throw new UsageError(`CONV_2D needs a 4-D input and filter, got [${x.shape.join(', ')}] and [${filter.shape.join(', ')}]`);
  }
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [outC, kh, kw, inC] = filter.shape as [number, number, number, number];
  if (inC === 0 || c % inC !== 0) throw new UsageError(`CONV_2D filter [${filter.shape.join(', ')}] does not fit input channels ${c}`);
  const oh = windowAxis(o.padding, h, kh, o.strideH, o.dilationHFactor).outSize;
  const ow = windowAxis(o.padding, w, kw, o.strideW, o.dilationWFactor).outSize;
  setShape(output(node), [n, oh, ow, outC]);
}

function run(node: Node): void {
  const o = optionsOf(node, 'CONV_2D');
  const bias = node.inputs[2];
  store(output(node), conv2d(input(node, 0).asTensor(), floatOperand(input(node, 1)), bias ? floatOperand(bias) : null, {
    padding: o.padding,
    stride: [o.strideH, o.strideW],
    dilation: [o.dilationHFactor, o.dilationWFactor],
    activation: fusedActivation(o.fusedActivationFunction),
  }));
}

export const conv2dOp: OpDefinition = { name: 'CONV_2D', prepare, run };
