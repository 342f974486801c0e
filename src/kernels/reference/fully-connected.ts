/**
 * FULLY_CONNECTED with TFLite semantics: weights [units, depth], optional
 * bias [units]. The input is read as [size / depth, depth] rows. With
 * keepNumDims the output keeps the input's shape with the last dim replaced
 * by units (the input's last dim must then be depth); otherwise it is
 * [rows, units].
 */
import { UsageError } from '../../errors.js';
import { applyFusedActivation, type FusedActivation } from './activation.js';
import { dimsOf, sizeOf, type Tensor } from './tensor.js';

export interface FullyConnectedOptions {
  readonly keepNumDims?: boolean;
  readonly activation?: FusedActivation;
}

export function fullyConnected(
  input: Tensor,
  weights: Tensor,
  bias: Tensor | null,
  options: FullyConnectedOptions = {},
): Tensor {
  const [units, depth] = dimsOf(weights, 2, 'fully connected weights') as [number, number];
  const size = sizeOf(input.shape);
  if (depth === 0 || size % depth !== 0) {
    throw new UsageError(`fully connected input [${input.shape.join(', ')}] is not a whole number of rows of ${depth}`);
  }
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== units)) {
    throw new UsageError(`fully connected bias must have shape [${units}], got [${bias.shape.join(', ')}]`);
  }
  const keepNumDims = options.keepNumDims ?? false;
  if (keepNumDims && input.shape[input.shape.length - 1] !== depth) {
    throw new UsageError(`fully connected with keep_num_dims needs input last dim ${depth}, got [${input.shape.join(', ')}]`);
  }
  const activation = options.activation ?? 'NONE';
  const rows = size / depth;
  const out = new Float32Array(rows * units);
  for (let r = 0; r < rows; r++) {
    for (let u = 0; u < units; u++) {
      let acc = bias === null ? 0 : bias.data[u]!;
      for (let k = 0; k < depth; k++) acc += input.data[r * depth + k]! * weights.data[u * depth + k]!;
      out[r * units + u] = applyFusedActivation(acc, activation);
    }
  }
  const shape = keepNumDims ? [...input.shape.slice(0, -1), units] : [rows, units];
  return { data: out, shape };
}
