/**
 * The weights one component's graph needs, checked up front against the
 * tensor table the model config implies (src/models/ldm-layout): every
 * tensor present, with the expected shape and a float dtype. Problems are
 * reported together, before any output file is started.
 */
import { FormatError } from '../../errors.js';
import { bytesToFloat32 } from '../../io/safetensors-dtype.js';
import type { ModelConfig } from '../config.js';
import { ldmCheckpointSpecs, TEXT_ENCODER_PREFIX, VAE_PREFIX, type TensorSpec } from '../ldm-layout/index.js';
import type { RowRange, WeightSource } from '../graph/weights.js';
import type { Checkpoint, TensorLocation } from './checkpoint.js';

export type ComponentName = 'clip' | 'diffusion' | 'decoder' | 'encoder';
export const COMPONENTS: readonly ComponentName[] = ['clip', 'diffusion', 'decoder', 'encoder'];

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
/** How many problems a message lists before "and N more". */
const LISTED_PROBLEMS = 5;

/** The LDM tensors a component's graph reads. */
export function componentSpecs(component: ComponentName, config: ModelConfig): TensorSpec[] {
  const all = ldmCheckpointSpecs(config);
  const under = (...prefixes: string[]) => all.filter((s) => prefixes.some((p) => s.name.startsWith(p)));
  switch (component) {
    case 'clip':
      return under(TEXT_ENCODER_PREFIX).filter((s) => s.kind !== 'position_ids');
    case 'diffusion':
      return all.filter((s) => s.component === 'unet');
    case 'decoder':
      return under(`${VAE_PREFIX}decoder.`, `${VAE_PREFIX}post_quant_conv.`);
    case 'encoder':
      return under(`${VAE_PREFIX}encoder.`, `${VAE_PREFIX}quant_conv.`);
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export class ComponentWeights implements WeightSource {
  private readonly locations = new Map<string, { loc: TensorLocation; shape: number[] }>();

  constructor(checkpoint: Checkpoint, specs: readonly TensorSpec[]) {
    const problems: string[] = [];
    for (const spec of specs) {
      const loc = checkpoint.locate(spec.name);
      const expected = `[${spec.shape.join(', ')}]`;
      if (!loc) {
        problems.push(`missing tensor ${checkpoint.describe(spec.name)} (expected shape ${expected})`);
        continue;
      }
      const entry = loc.file.entry(loc.key);
      const inFile = loc.file.path === checkpoint.path ? '' : ` in ${loc.file.path}`;
      const where = `tensor ${JSON.stringify(loc.key)}${inFile}${loc.key === spec.name ? '' : ` (LDM name ${spec.name})`}`;
      // A 1x1 conv stored as a linear weight (newer diffusers VAE attention) has the same data.
      const squeezable = sameShape([...entry.shape, 1, 1], spec.shape);
      if (!sameShape(entry.shape, spec.shape) && !squeezable) {
        problems.push(`${where} has shape [${entry.shape.join(', ')}], expected ${expected}`);
      } else if (!FLOAT_DTYPES.has(entry.dtype)) {
        problems.push(`${where} has dtype ${entry.dtype}, expected F32, F16 or BF16`);
      } else {
        this.locations.set(spec.name, { loc, shape: spec.shape });
      }
    }
    if (problems.length > 0) {
      const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
      const hint = problems.some((p) => p.includes('has shape')) ? ' (expected shapes come from the model config: does it match this checkpoint?)' : '';
      throw new FormatError(checkpoint.path, problems.slice(0, LISTED_PROBLEMS).join('; ') + more + hint);
    }
  }

  shape(name: string): number[] {
    return [...this.get(name).shape];
  }

  read(name: string, rows?: RowRange): Float32Array {
    const { loc, shape } = this.get(name);
    const entry = loc.file.entry(loc.key);
    if (!rows) return bytesToFloat32(entry.dtype, loc.file.readBytes(loc.key));
    const rowBytes = entry.byteLength / shape[0]!;
    return bytesToFloat32(entry.dtype, loc.file.readRange(loc.key, rows.start * rowBytes, rows.count * rowBytes));
  }

  private get(name: string) {
    const found = this.locations.get(name);
    if (!found) throw new Error(`bug: graph asks for ${name}, which the component's tensor list does not hold`);
    return found;
  }
}
