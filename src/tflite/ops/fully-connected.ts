/**
 * FULLY_CONNECTED: weights [units, depth] (FLOAT32, FLOAT16 or INT8 with
 * per-channel scales, dequantized to float: a weight-only int8 model runs
 * in float, not with TFLite's hybrid int8 arithmetic), optional bias,
 * keep_num_dims, fused activation.
 */
import { UsageError } from '../../errors.js';
import { fullyConnected } from '../../kernels/reference/fully-connected.js';
import { checkCounts, checkType, input, optionsOf, output, setShape, store } from './node-access.js';
import type { Node, OpDefinition } from './op.js';
import { floatOperand, fusedActivation } from './shared.js';

function prepare(node: Node): void {
  checkCounts(node, [2, 3], 1);
  const o = optionsOf(node, 'FULLY_CONNECTED');
  if (o.weightsFormat !== 'DEFAULT') throw new UsageError(`FULLY_CONNECTED weights format ${o.weightsFormat} is not supported`);
  const x = input(node, 0);
  const w = input(node, 1);
  checkType(x, ['FLOAT32'], 'FULLY_CONNECTED input');
  if (w.shape.length !== 2) throw new UsageError(`FULLY_CONNECTED weights must be [units, depth], got [${w.shape.join(', ')}]`);
  const [units, depth] = w.shape as [number, number];
  if (depth === 0 || x.size % depth !== 0) throw new UsageError(`FULLY_CONNECTED input [${x.shape.join(', ')}] is not rows of ${depth}`);
  if (o.keepNumDims && x.shape[x.shape.length - 1] !== depth) {
    throw new UsageError(`FULLY_CONNECTED keep_num_dims needs input last dim ${depth}, got [${x.shape.join(', ')}]`);
  }
  setShape(output(node), o.keepNumDims ? [...x.shape.slice(0, -1), units] : [x.size / depth, units]);
}

function run(node: Node): void {
  const o = optionsOf(node, 'FULLY_CONNECTED');
  const bias = node.inputs[2];
  store(output(node), fullyConnected(input(node, 0).asTensor(), floatOperand(input(node, 1)), bias ? floatOperand(bias) : null, {
    keepNumDims: o.keepNumDims,
    activation: fusedActivation(o.fusedActivationFunction),
  }));
}

export const fullyConnectedOp: OpDefinition = { name: 'FULLY_CONNECTED', prepare, run };
