/**
 * DEPTHWISE_CONV_2D: filter [1, kh, kw, in * multiplier]. The multiplier is
 * taken from the shapes (output channels / input channels), as current
 * TFLite does, since old converters wrote inconsistent depth_multiplier options.
 */
import { UsageError } from '../../errors.js';
import { depthwiseConv2d } from '../../kernels/reference/conv2d.js';
import { windowAxis } from '../../kernels/reference/padding.js';
import { checkCounts, checkType, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { floatOperand, fusedActivation } from './shared.js';

function prepare(node: Node): void {
  checkCounts(node, [2, 3], 1);
  const o = optionsOf(node, 'DEPTHWISE_CONV_2D');
  const x = input(node, 0);
  const filter = input(node, 1);
  checkType(x, ['FLOAT32'], 'DEPTHWISE_CONV_2D input');
  if (x.shape.length !== 4 || filter.shape.length !== 4 || filter.shape[0] !== 1) {
    throw new UsageError(`DEPTHWISE_CONV_2D needs input [n, h, w, c] and filter [1, kh, kw, c*m], got [${x.shape.join(', ')}] and [${filter.shape.join(', ')}]`);
  }
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, kh, kw, outC] = filter.shape as [number, number, number, number];
  if (c === 0 || outC % c !== 0) throw new UsageError(`DEPTHWISE_CONV_2D: ${outC} filter channels are not a multiple of ${c} input channels`);
  const oh = windowAxis(o.padding, h, kh, o.strideH, o.dilationHFactor).outSize;
  const ow = windowAxis(o.padding, w, kw, o.strideW, o.dilationWFactor).outSize;
  setShape(output(node), [n, oh, ow, outC]);
}

function run(node: Node): void {
  const o = optionsOf(node, 'DEPTHWISE_CONV_2D');
  const x = input(node, 0);
  const filter = input(node, 1);
  const bias = node.inputs[2];
  store(output(node), depthwiseConv2d(x.asTensor(), floatOperand(filter), bias ? floatOperand(bias) : null, {
    padding: o.padding,
    stride: [o.strideH, o.strideW],
    dilation: [o.dilationHFactor, o.dilationWFactor],
    depthMultiplier: filter.shape[3]! / x.shape[3]!,
    activation: fusedActivation(o.fusedActivationFunction),
  }));
}

export const depthwiseConv2dOp: OpDefinition = { name: 'DEPTHWISE_CONV_2D', prepare, run };
