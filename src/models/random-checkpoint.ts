import { createHash } from 'node:crypto';
import { f16ArrayToF32, f32ArrayToF16 } from '../io/half.js';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { ModelConfig } from './config.js';
import {
  dtypeSize,
  elementCount,
  ldmCheckpointSpecs,
  type CheckpointPrecision,
  type TensorSpec,
} from './ldm-layout/index.js';
import { scheduleBuffers, type ScheduleBufferName } from './ldm-layout/schedule-buffers.js';

/*
 * Random-weight checkpoints in the original LDM layout, since no real weights
 * can be downloaded where the tests run. Every tensor is drawn from its own
 * generator, seeded from (seed, tensor name), so tensors can be produced one
 * at a time in any order and a file of several GB never sits in memory.
 *
 * Scales (those of the tiny-a fixture, which keep activations finite and
 * non-trivial through the whole network): conv/linear weights have variance
 * 1/fan_in, biases and norm biases standard deviation 0.1, norm weights
 * 1 ± 0.1, the token embedding 1 and the position embedding 0.5. Values are
 * uniform with that variance (cheaper than Gaussian, same effect here), and
 * rounded to the nearest float16 so that the fp16 and fp32 files of one seed
 * hold exactly the same weights.
 *
 * bench/checkpoint/check-activations.py shows the resulting spread at full
 * SD v1.5 size in the original modules.
 *
 * Buffers are not random: the DDPM schedule as LDM computes it,
 * position_ids = 0..n-1, model_ema.decay = 0.9999, model_ema.num_updates = 0.
 */

/** LitEma's decay in SD v1's training config. */
export const EMA_DECAY = 0.9999;

export interface RandomCheckpointProgress {
  tensorsDone: number;
  tensorsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface RandomCheckpointOptions {
  seed: number;
  precision: CheckpointPrecision;
  /** Called before each tensor is produced and once at the end. */
  onProgress?: (p: RandomCheckpointProgress) => void;
}

/**
 * Writes the checkpoint for `config` to `path` (atomically, through a
 * temporary file). Tensors are stored in name order, as in the real file.
 */
export function writeRandomCheckpoint(path: string, config: ModelConfig, options: RandomCheckpointOptions): RandomCheckpointProgress {
  const specs = ldmCheckpointSpecs(config, options.precision).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bytesTotal = specs.reduce((sum, s) => sum + elementCount(s.shape) * dtypeSize(s.dtype), 0);
  const progress: RandomCheckpointProgress = { tensorsDone: 0, tensorsTotal: specs.length, bytesDone: 0, bytesTotal };
  const tensors: TensorToWrite[] = specs.map((spec) => ({
    name: spec.name,
    dtype: spec.dtype,
    shape: spec.shape,
    data: () => {
      options.onProgress?.({ ...progress });
      const bytes = tensorBytes(spec, options.seed);
      progress.tensorsDone += 1;
      progress.bytesDone += bytes.byteLength;
      return bytes;
    },
  }));
  writeSafetensors(path, tensors, {
    format: 'pt',
    sd_tflite_note: 'RANDOM weights in the SD v1.5 LDM key layout, made by sd-tflite make-checkpoint; not a real model',
    sd_tflite_seed: String(options.seed),
  });
  options.onProgress?.({ ...progress });
  return progress;
}

/** The little-endian bytes of one tensor of a random checkpoint. */
export function tensorBytes(spec: TensorSpec, seed: number): Uint8Array {
  const n = elementCount(spec.shape);
  switch (spec.kind) {
    case 'position_ids': {
      if (spec.dtype !== 'I64') throw new Error(`${spec.name}: position_ids must be I64`);
      return asBytes(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)));
    }
    case 'ema_num_updates':
      return asBytes(new Int32Array(n));
    case 'ema_decay':
      return floatBytes(Float32Array.of(EMA_DECAY), spec);
    case 'schedule':
      return floatBytes(Float32Array.from(scheduleBuffers()[spec.name as ScheduleBufferName]), spec);
    default:
      return randomFloatBytes(spec, seed, n);
  }
}

/** float32 values stored as the spec's float dtype (F16 by round to nearest even). */
function floatBytes(values: Float32Array, spec: TensorSpec): Uint8Array {
  if (spec.dtype === 'F32') return asBytes(values);
  if (spec.dtype === 'F16') return asBytes(f32ArrayToF16(values));
  throw new Error(`${spec.name}: expected a float dtype, got ${spec.dtype}`);
}

const CHUNK = 1 << 16;

function randomFloatBytes(spec: TensorSpec, seed: number, n: number): Uint8Array {
  const { mean, std } = distribution(spec);
  const next = tensorGenerator(seed, spec.name);
  // Uniform on [mean - a, mean + a) has standard deviation a/√3.
  const a = std * Math.sqrt(3);
  const f16 = spec.dtype === 'F16';
  if (!f16 && spec.dtype !== 'F32') throw new Error(`${spec.name}: expected a float dtype, got ${spec.dtype}`);
  const out = f16 ? new Uint16Array(n) : new Float32Array(n);
  const chunk = new Float32Array(Math.min(CHUNK, n));
  for (let start = 0; start < n; start += CHUNK) {
    const len = Math.min(CHUNK, n - start);
    const values = len === chunk.length ? chunk : chunk.subarray(0, len);
    for (let i = 0; i < len; i++) values[i] = mean + a * (2 * next() - 1);
    const half = f32ArrayToF16(values);
    out.set(f16 ? half : f16ArrayToF32(half), start);
  }
  return asBytes(out);
}

/** Mean and standard deviation of a random tensor, by kind (see the file comment). */
function distribution(spec: TensorSpec): { mean: number; std: number } {
  switch (spec.kind) {
    case 'weight': {
      const fanIn = elementCount(spec.shape.slice(1));
      return { mean: 0, std: 1 / Math.sqrt(fanIn) };
    }
    case 'bias':
    case 'norm_bias':
      return { mean: 0, std: 0.1 };
    case 'norm_weight':
      return { mean: 1, std: 0.1 };
    case 'token_embedding':
      return { mean: 0, std: 1 };
    case 'position_embedding':
      return { mean: 0, std: 0.5 };
    default:
      throw new Error(`${spec.name}: ${spec.kind} is not a random tensor`);
  }
}

/**
 * Uniform floats in [0, 1) from xoshiro128** seeded with the first 16 bytes
 * of sha256("sd-tflite/<seed>/<name>"): fast, and independent per tensor.
 */
function tensorGenerator(seed: number, name: string): () => number {
  const digest = createHash('sha256').update(`sd-tflite/${seed}/${name}`).digest();
  let s0 = digest.readUInt32LE(0);
  let s1 = digest.readUInt32LE(4);
  let s2 = digest.readUInt32LE(8);
  let s3 = digest.readUInt32LE(12);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return (result >>> 8) * 2 ** -24;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
