// TFLite's SingleOpModel idea: build a one-op .tflite with our writer, load
// it in the interpreter and run it, so each op test covers the writer's
// options, the reader's decoding, shape inference and the kernel call.
import type { TypedArray } from '../../src/kernels/reference/typed-tensor.js';
import { Interpreter, type InterpreterOptions } from '../../src/tflite/interpreter/interpreter.js';
import type { TensorValue } from '../../src/tflite/interpreter/signature-runner.js';
import type { Quantization } from '../../src/tflite/model.js';
import { TfliteModelBuilder, type OperatorOptionsArg } from '../../src/tflite/writer.js';
import type { BuiltinOpName, TensorTypeName } from '../../src/tflite/types.js';

export interface OperandSpec {
  shape: number[];
  data?: TypedArray;
  type?: TensorTypeName;
  /** Stored in the file as a constant instead of fed at invoke. */
  constant?: boolean;
  /** Left out (-1 in the operator's inputs). */
  omitted?: boolean;
  quantization?: Partial<Quantization> & Pick<Quantization, 'scale'>;
}

function typeOf(data: TypedArray | undefined, given?: TensorTypeName): TensorTypeName {
  if (given) return given;
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof Int8Array) return 'INT8';
  if (data instanceof Uint8Array) return 'UINT8';
  return 'FLOAT32';
}

export function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Builds a model of one `op` and runs it; outputs in order. `outputs` gives each output's type (default FLOAT32) and file shape. */
export function runOp<K extends BuiltinOpName>(
  op: K,
  inputs: OperandSpec[],
  options?: OperatorOptionsArg<K>,
  outputs: Array<{ shape?: number[]; type?: TensorTypeName }> = [{}],
  interpreterOptions: InterpreterOptions = {},
): TensorValue[] {
  const m = new TfliteModelBuilder();
  const feeds: Record<string, TypedArray> = {};
  const ids = inputs.map((spec, i) => {
    if (spec.omitted) return -1;
    const type = typeOf(spec.data, spec.type);
    const name = `in${i}`;
    if (spec.constant) return m.main.addConstant(name, type, spec.shape, bytesOf(spec.data!), { quantization: spec.quantization });
    feeds[name] = spec.data!;
    return m.main.addInput(name, type, spec.shape, { quantization: spec.quantization });
  });
  const outIds = outputs.map((o, i) => m.main.addTensor(`out${i}`, o.type ?? 'FLOAT32', o.shape ?? [1]));
  m.main.addOperator(op, ids, outIds, options);
  m.main.markOutput(...outIds);
  const interp = Interpreter.load(m.toBuffer(), interpreterOptions);
  try {
    const result = interp.getSignatureRunner().invoke(feeds);
    return outIds.map((_, i) => result[`out${i}`]!);
  } finally {
    interp.close();
  }
}

// The shared generator and element count, under the names the op tests use.
export { uniform as random } from '../support/random.js';
export { count as size } from '../support/f64-reference-ops.js';
