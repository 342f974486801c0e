import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { SafetensorsFile, type SafetensorsEntry } from '../../src/io/safetensors.js';
import { loadModelConfig, type ModelConfig } from '../../src/models/config.js';
import { ldmCheckpointSpecs } from '../../src/models/ldm-layout/index.js';
import { SCHEDULE_BUFFER_NAMES, scheduleBuffers } from '../../src/models/ldm-layout/schedule-buffers.js';
import { writeRandomCheckpoint, type RandomCheckpointProgress } from '../../src/models/random-checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-random-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tinyA: ModelConfig = loadModelConfig('test/fixtures/tiny-a/model-config.json');
/** Index of the first element where a and b differ (-1 if none); cheaper than deep equality on millions of values. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('random checkpoint', () => {
  const fp32 = join(dir, 'a-fp32.safetensors');
  const fp16 = join(dir, 'a-fp16.safetensors');
  let progress: RandomCheckpointProgress[] = [];

  beforeAll(() => {
    writeRandomCheckpoint(fp32, tinyA, { seed: 7, precision: 'fp32', onProgress: (p) => progress.push(p) });
    writeRandomCheckpoint(fp16, tinyA, { seed: 7, precision: 'fp16' });
  });

  it("has tiny-a's exact tensor table, with the data in name order like the real file", () => {
    const table = (path: string) => {
      const file = SafetensorsFile.open(path);
      const entries = [...file.entries.values()];
      file.close();
      return entries;
    };
    const byName = (entries: SafetensorsEntry[]) =>
      entries.map(({ name, dtype, shape }) => ({ name, dtype, shape })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const ours = table(fp32);
    expect(byName(ours)).toEqual(byName(table('test/fixtures/tiny-a/tiny-a.safetensors')));
    const inFileOrder = [...ours].sort((a, b) => a.byteOffset - b.byteOffset).map((e) => e.name);
    expect(inFileOrder).toEqual([...inFileOrder].sort());
  });

  it('reports progress per tensor up to the total', () => {
    const last = progress.at(-1)!;
    expect(progress.length).toBe(last.tensorsTotal + 1);
    expect(last.tensorsDone).toBe(last.tensorsTotal);
    expect(last.bytesDone).toBe(last.bytesTotal);
    const file = SafetensorsFile.open(fp32);
    const end = Math.max(...[...file.entries.values()].map((e) => e.byteOffset + e.byteLength));
    const start = Math.min(...[...file.entries.values()].map((e) => e.byteOffset));
    file.close();
    expect(end - start).toBe(last.bytesTotal);
    expect(statSync(fp32).size).toBe(end);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = join(dir, 'a-fp32-again.safetensors');
    writeRandomCheckpoint(again, tinyA, { seed: 7, precision: 'fp32' });
    expect(sha(again)).toBe(sha(fp32));
    const other = join(dir, 'a-fp32-seed8.safetensors');
    writeRandomCheckpoint(other, tinyA, { seed: 8, precision: 'fp32' });
    const a = SafetensorsFile.open(fp32);
    const b = SafetensorsFile.open(other);
    for (const name of ['model.diffusion_model.out.2.weight', 'first_stage_model.decoder.conv_in.bias']) {
      expect(a.readFloat32(name)).not.toEqual(b.readFloat32(name));
    }
    const sched = 'alphas_cumprod';
    expect(a.readFloat32(sched)).toEqual(b.readFloat32(sched));
    a.close();
    b.close();
  });

  it('holds finite weights with the stated scales, and the fixed buffers', () => {
    const f = SafetensorsFile.open(fp32);
    const stats = (name: string) => {
      const v = f.readFloat32(name);
      let sum = 0;
      let sq = 0;
      let nonFinite = 0;
      for (const x of v) {
        if (!Number.isFinite(x)) nonFinite++;
        sum += x;
      }
      expect({ name, nonFinite }).toEqual({ name, nonFinite: 0 });
      const mean = sum / v.length;
      for (const x of v) sq += (x - mean) ** 2;
      return { mean, std: Math.sqrt(sq / v.length), n: v.length };
    };
    for (const spec of ldmCheckpointSpecs(tinyA)) if (spec.dtype === 'F32') stats(spec.name);
    // conv weight [64, 64, 3, 3]: fan-in 576.
    const w = stats('model.diffusion_model.input_blocks.8.0.in_layers.2.weight');
    expect(Math.abs(w.mean)).toBeLessThan(0.002);
    expect(w.std / (1 / Math.sqrt(576))).toBeCloseTo(1, 1);
    const tok = stats('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight');
    expect(tok.std).toBeCloseTo(1, 2);
    expect(stats('cond_stage_model.transformer.text_model.embeddings.position_embedding.weight').std).toBeCloseTo(0.5, 1);
    // All norm weights together (a few thousand values): 1 ± 0.1.
    const normWeights = ldmCheckpointSpecs(tinyA).filter((s) => s.kind === 'norm_weight');
    const pooled = normWeights.map((s) => stats(s.name));
    const n = pooled.reduce((acc, p) => acc + p.n, 0);
    const mean = pooled.reduce((acc, p) => acc + p.mean * p.n, 0) / n;
    expect(n).toBeGreaterThan(5000);
    expect(Math.abs(mean - 1)).toBeLessThan(0.006); // > 4 standard errors
    expect(Math.sqrt(pooled.reduce((acc, p) => acc + (p.std ** 2 + (p.mean - mean) ** 2) * p.n, 0) / n)).toBeCloseTo(0.1, 2);

    expect(Array.from(f.readTyped('cond_stage_model.transformer.text_model.embeddings.position_ids') as BigInt64Array)).toEqual(
      Array.from({ length: 77 }, (_, i) => BigInt(i)),
    );
    expect(f.readFloat32('model_ema.decay')[0]).toBe(Math.fround(0.9999));
    expect(Array.from(f.readTyped('model_ema.num_updates') as Int32Array)).toEqual([0]);
    const tinyAFile = SafetensorsFile.open('test/fixtures/tiny-a/tiny-a.safetensors');
    for (const name of SCHEDULE_BUFFER_NAMES) {
      expect(f.readFloat32(name)).toEqual(Float32Array.from(scheduleBuffers()[name]));
      expect(f.readFloat32(name)).toEqual(tinyAFile.readFloat32(name)); // PyTorch's own float32 values
    }
    tinyAFile.close();
    f.close();
  });

  it('with fp16 holds exactly the fp32 file’s weights, and half-rounded buffers', () => {
    const a = SafetensorsFile.open(fp32);
    const h = SafetensorsFile.open(fp16);
    expect(h.entries.size).toBe(a.entries.size);
    for (const [name, e] of h.entries) {
      const e32 = a.entry(name);
      expect(e.shape).toEqual(e32.shape);
      if (e32.dtype !== 'F32') {
        expect(e.dtype).toBe(e32.dtype);
        expect(h.readBytes(name)).toEqual(a.readBytes(name));
        continue;
      }
      expect(e.dtype).toBe('F16');
      const bits = h.readTyped(name) as Uint16Array;
      expect({ name, firstDifference: firstDifference(f32ArrayToF16(a.readFloat32(name)), bits) }).toEqual({ name, firstDifference: -1 });
      if (!SCHEDULE_BUFFER_NAMES.includes(name as never) && name !== 'model_ema.decay') {
        // Weights are float16 values already, so both files hold the same numbers.
        expect({ name, firstDifference: firstDifference(f16ArrayToF32(bits), a.readFloat32(name)) }).toEqual({ name, firstDifference: -1 });
      }
    }
    a.close();
    h.close();
  });
});
