/**
 * DEQUANTIZE: FLOAT16 / BFLOAT16 widened, INT8 / UINT8 / INT16 dequantized
 * with per-tensor or per-channel scale and zero point. On a constant input
 * (float16 or int8 weights, the usual case) it is folded at load into a
 * FLOAT32 constant that keeps the compact storage (see ConstantValue).
 */
import { UsageError } from '../../errors.js';
import { ConstantValue } from '../interpreter/constant-value.js';
import { checkCounts, checkType, input, output, setShape } from './node-access.js';
import type { Node, OpDefinition } from './op.js';

const SOURCE_TYPES = ['FLOAT16', 'BFLOAT16', 'INT8', 'UINT8', 'INT16'] as const;

function prepare(node: Node): void {
  checkCounts(node, [1, 1], 1);
  checkType(input(node, 0), SOURCE_TYPES, 'DEQUANTIZE input');
  checkType(output(node), ['FLOAT32'], 'DEQUANTIZE output');
  const x = input(node, 0);
  const isInt = x.type !== 'FLOAT16' && x.type !== 'BFLOAT16';
  if (isInt && !x.quantization?.scale.length) throw new UsageError(`DEQUANTIZE input ${x.name} has no quantization parameters`);
  setShape(output(node), x.shape);
}

function fold(node: Node): void {
  prepare(node);
  const c = input(node, 0).constant!;
  const out = output(node);
  out.constant = c.withLogicalType('FLOAT32');
}

function run(node: Node): void {
  const x = input(node, 0);
  const tmp = new ConstantValue(x.type, x.data, x.shape, 'FLOAT32', x.quantization);
  output(node).f32().set(tmp.float32());
}

export const dequantizeOp: OpDefinition = { name: 'DEQUANTIZE', prepare, run, fold };
