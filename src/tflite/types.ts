import { BuiltinOperator } from './schema/tflite/builtin-operator.js';
import { TensorType } from './schema/tflite/tensor-type.js';

/** Tensor element types by their schema name ('FLOAT32', 'INT8', ...). */
export type TensorTypeName = keyof typeof TensorType;

/** Builtin operators by their schema name ('CONV_2D', 'GELU', ...). */
export type BuiltinOpName = Exclude<keyof typeof BuiltinOperator, 'CUSTOM' | 'PLACEHOLDER_FOR_GREATER_OP_CODES'>;

/** Highest builtin code that fits OperatorCode.deprecated_builtin_code. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

/** Bytes per element; undefined for types without a fixed byte size (STRING, packed INT4/UINT4/INT2, ...). */
const ELEMENT_BYTES: Partial<Record<TensorTypeName, number>> = {
  FLOAT32: 4, FLOAT16: 2, BFLOAT16: 2, FLOAT64: 8,
  INT8: 1, UINT8: 1, INT16: 2, UINT16: 2, INT32: 4, UINT32: 4, INT64: 8, UINT64: 8,
  BOOL: 1, COMPLEX64: 8, COMPLEX128: 16, FLOAT8_E4M3FN: 1, FLOAT8_E5M2: 1,
};

export function elementBytes(type: TensorTypeName): number | undefined {
  return ELEMENT_BYTES[type];
}

export function tensorTypeName(code: number): TensorTypeName | undefined {
  const name = TensorType[code];
  return typeof name === 'string' ? (name as TensorTypeName) : undefined;
}

export function tensorTypeCode(name: TensorTypeName): number {
  return TensorType[name];
}

/** The schema name of a builtin code, or `BUILTIN_<n>` for a code newer than our schema. */
export function builtinOpName(code: number): string {
  const name = BuiltinOperator[code];
  return typeof name === 'string' ? name : `BUILTIN_${code}`;
}

export function builtinOpCode(name: BuiltinOpName): number {
  const code = BuiltinOperator[name];
  if (typeof code !== 'number') throw new TypeError(`unknown builtin operator ${String(name)}`);
  return code;
}

export function isBuiltinOpName(name: string): name is BuiltinOpName {
  return Object.hasOwn(BuiltinOperator, name) && typeof (BuiltinOperator as Record<string, unknown>)[name] === 'number'
    && name !== 'CUSTOM' && name !== 'PLACEHOLDER_FOR_GREATER_OP_CODES';
}

/** Number of elements of a static shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
