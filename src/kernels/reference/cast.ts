/**
 * CAST between element types with TFLite's rules: float to integer
 * truncates toward zero (C++ static_cast), integers wrap to the target
 * width, anything to bool is `!= 0`, bool to number is 0/1.
 */
import type { TypedArray } from './typed-tensor.js';

export type CastTarget = 'FLOAT32' | 'INT32' | 'INT64' | 'INT16' | 'INT8' | 'UINT8' | 'BOOL';

function targetArray(target: CastTarget, length: number): TypedArray {
  switch (target) {
    case 'FLOAT32': return new Float32Array(length);
    case 'INT32': return new Int32Array(length);
    case 'INT64': return new BigInt64Array(length);
    case 'INT16': return new Int16Array(length);
    case 'INT8': return new Int8Array(length);
    case 'UINT8': case 'BOOL': return new Uint8Array(length);
  }
}

export function cast(data: TypedArray, target: CastTarget): TypedArray {
  const out = targetArray(target, data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]!);
    if (target === 'BOOL') out[i] = v !== 0 ? 1 : 0;
    else if (target === 'FLOAT32') out[i] = v;
    else if (target === 'INT64') out[i] = BigInt(Number.isFinite(v) ? Math.trunc(v) : 0) as never;
    else out[i] = Math.trunc(v); // typed array stores wrap to the width
  }
  return out;
}
