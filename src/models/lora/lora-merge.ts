/**
 * LoRA files merged into the float weights as the converter reads them:
 * W' = W + Σ multiplier · (alpha / rank) · up @ down, per layer, at the
 * moment the layer is written, so every precision carries the merge and no
 * second copy of the model is ever held. The LoRA tensors stay in their
 * files and are read again for each layer they patch.
 */
import type { ModelConfig } from '../config.js';
import type { RowRange, WeightSource } from '../graph/weights.js';
import type { SafetensorsFile } from '../../io/safetensors.js';
import { openLoraFile, type LoraPatch, type LoraSpec } from './lora-file.js';
import { loraTargets, type LoraPart } from './lora-targets.js';

export type { LoraSpec } from './lora-file.js';

export class LoraMerge {
  private constructor(
    private readonly files: SafetensorsFile[],
    /** By LDM weight name, in --lora order. */
    private readonly patches: ReadonlyMap<string, readonly LoraPatch[]>,
    /** Layers each file patches, by model, in --lora order. */
    readonly layerCounts: readonly Readonly<Record<LoraPart, number>>[],
  ) {}

  /** Opens and checks every file (closing them all if one fails). */
  static open(specs: readonly LoraSpec[], config: ModelConfig): LoraMerge {
    const targets = loraTargets(config);
    const files: SafetensorsFile[] = [];
    const patches = new Map<string, LoraPatch[]>();
    const counts: Record<LoraPart, number>[] = [];
    try {
      for (const spec of specs) {
        const opened = openLoraFile(spec, targets);
        files.push(opened.file);
        const count = { unet: 0, text_encoder: 0 };
        for (const p of opened.patches) {
          count[p.target.part]++;
          patches.set(p.target.ldmName, [...(patches.get(p.target.ldmName) ?? []), p]);
        }
        counts.push(count);
      }
    } catch (err) {
      for (const f of files) f.close();
      throw err;
    }
    return new LoraMerge(files, patches, counts);
  }

  /** `source` with the patches applied to the layers it reads. */
  over(source: WeightSource): WeightSource {
    return {
      shape: (name) => source.shape(name),
      read: (name, rows) => {
        const base = source.read(name, rows);
        const patches = this.patches.get(name);
        return patches ? mergedRows(base, source.shape(name), patches, rows) : base;
      },
    };
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

/**
 * base (rows of a [out, …] weight) plus every patch's scale · up @ down on
 * those rows. Each output row's sum is taken in float64 and rounded once.
 */
function mergedRows(base: Float32Array, shape: readonly number[], patches: readonly LoraPatch[], rows?: RowRange): Float32Array {
  const out = shape[0]!;
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const start = rows?.start ?? 0;
  const count = rows?.count ?? out;
  if (base.length !== count * width) throw new Error(`bug: ${base.length} values for ${count} rows of ${width}`);
  const factors = patches.map((p) => ({ rank: p.rank, scale: p.scale, down: p.file.readFloat32(p.downKey), up: p.file.readFloat32(p.upKey) }));
  const merged = new Float32Array(base.length);
  const acc = new Float64Array(width);
  for (let row = 0; row < count; row++) {
    acc.fill(0);
    for (const { rank, scale, down, up } of factors) {
      const upRow = (start + row) * rank;
      let k = 0;
      // Four ranks per pass over the row: a quarter of the accumulator traffic.
      for (; k + 4 <= rank; k += 4) {
        const u0 = scale * up[upRow + k]!;
        const u1 = scale * up[upRow + k + 1]!;
        const u2 = scale * up[upRow + k + 2]!;
        const u3 = scale * up[upRow + k + 3]!;
        const d0 = k * width;
        const d1 = d0 + width;
        const d2 = d1 + width;
        const d3 = d2 + width;
        for (let i = 0; i < width; i++) acc[i]! += u0 * down[d0 + i]! + u1 * down[d1 + i]! + u2 * down[d2 + i]! + u3 * down[d3 + i]!;
      }
      for (; k < rank; k++) {
        const u = scale * up[upRow + k]!;
        const d = k * width;
        for (let i = 0; i < width; i++) acc[i]! += u * down[d + i]!;
      }
    }
    const o = row * width;
    for (let i = 0; i < width; i++) merged[o + i] = base[o + i]! + acc[i]!;
  }
  return merged;
}
