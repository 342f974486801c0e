/**
 * One LoRA file checked against the model before anything is written: every
 * key understood, every module a layer of this model, every down/up pair
 * complete with shapes that fit the layer, float dtypes, finite values.
 * Problems are reported together, naming the file and the keys.
 */
import { FormatError } from '../../errors.js';
import { SafetensorsFile, type SafetensorsEntry } from '../../io/safetensors.js';
import { parseLoraKey, type LoraNaming } from './lora-keys.js';
import { peftScaling, type PeftScaling } from './peft-metadata.js';
import type { LoraPart, LoraTarget, LoraTargets } from './lora-targets.js';

/** `--lora PATH[:MULTIPLIER]`. */
export interface LoraSpec {
  path: string;
  multiplier: number;
}

/** One layer's patch: W += scale · up @ down, read from `file` when the layer is written. */
export interface LoraPatch {
  target: LoraTarget;
  file: SafetensorsFile;
  downKey: string;
  upKey: string;
  rank: number;
  /** multiplier · alpha / rank */
  scale: number;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
/** How many problems a message lists before "and N more". */
const LISTED_PROBLEMS = 6;

interface Group {
  naming: LoraNaming;
  down?: string;
  up?: string;
  alpha?: string;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Opens and checks one LoRA file; throws a FormatError listing its problems (the file is then closed). */
export function openLoraFile(spec: LoraSpec, targets: LoraTargets): { file: SafetensorsFile; patches: LoraPatch[] } {
  const file = SafetensorsFile.open(spec.path);
  try {
    const patches = checkLoraFile(file, spec.multiplier, targets);
    return { file, patches };
  } catch (err) {
    file.close();
    throw err;
  }
}

function checkLoraFile(file: SafetensorsFile, multiplier: number, targets: LoraTargets): LoraPatch[] {
  const { groups, problems } = groupKeys(file);
  let peft: Map<LoraPart, PeftScaling> | undefined;
  if ([...groups.values()].some((g) => g.naming === 'diffusers')) {
    try {
      peft = peftScaling(file.metadata);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const patches: LoraPatch[] = [];
  const patchedBy = new Map<string, string>();
  for (const [module, group] of groups) {
    const target = group.naming === 'kohya' ? targets.kohya.get(module) : targets.diffusers.get(module);
    if (!target) {
      problems.push(`tensor ${JSON.stringify(group.down ?? group.up ?? group.alpha)}: ${unknownModule(module)}`);
      continue;
    }
    const before = patchedBy.get(target.ldmName);
    if (before !== undefined) {
      problems.push(`${module} and ${before} patch the same layer ${target.ldmName}`);
      continue;
    }
    patchedBy.set(target.ldmName, module);
    const patch = patchOf(file, module, group, target, multiplier, peft?.get(target.part));
    if (typeof patch === 'string') problems.push(patch);
    else patches.push(patch);
  }
  if (problems.length === 0) {
    for (const p of patches) {
      for (const key of [p.downKey, p.upKey]) {
        if (!file.readFloat32(key).every(Number.isFinite)) problems.push(`tensor ${JSON.stringify(key)} holds NaN or infinite values`);
      }
    }
  }
  if (problems.length > 0) {
    const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
    throw new FormatError(file.path, `not a LoRA this converter can merge into this model: ${problems.slice(0, LISTED_PROBLEMS).join('; ')}${more}`);
  }
  return patches;
}

/** The file's keys by module (in the file's naming), and the keys that are not LoRA tensors we merge. */
function groupKeys(file: SafetensorsFile): { groups: Map<string, Group>; problems: string[] } {
  const problems: string[] = [];
  const groups = new Map<string, Group>();
  for (const key of file.entries.keys()) {
    const parsed = parseLoraKey(key);
    if ('unsupported' in parsed) {
      problems.push(`tensor ${JSON.stringify(key)}: ${parsed.unsupported}`);
      continue;
    }
    const group = groups.get(parsed.module) ?? { naming: parsed.naming };
    groups.set(parsed.module, group);
    const other = group[parsed.role];
    if (other !== undefined) problems.push(`tensors ${JSON.stringify(other)} and ${JSON.stringify(key)} are both the ${parsed.role} of ${parsed.module}`);
    group[parsed.role] = key;
  }
  if (groups.size === 0 && problems.length === 0) problems.push('holds no LoRA tensors');
  return { groups, problems };
}

/** One module's patch, or what is wrong with it. */
function patchOf(file: SafetensorsFile, module: string, group: Group, target: LoraTarget, multiplier: number, peft: PeftScaling | undefined): LoraPatch | string {
  if (group.down === undefined || group.up === undefined) {
    const key = JSON.stringify(group.down ?? group.up ?? group.alpha);
    if (group.down === undefined && group.up === undefined) return `${module} has only an alpha tensor (${key}), no down/up pair`;
    return `${module} has ${group.down ? 'a down' : 'an up'} tensor (${key}) but no ${group.down ? 'up' : 'down'} tensor to pair it with`;
  }
  const down = file.entry(group.down);
  const up = file.entry(group.up);
  const pairProblem = dtypeProblem(down) ?? dtypeProblem(up) ?? shapeProblem(target, down, up);
  if (pairProblem) return pairProblem;
  const rank = down.shape[0]!;
  let alpha = rank;
  if (group.alpha !== undefined) {
    const value = alphaValue(file, file.entry(group.alpha));
    if (typeof value === 'string') return value;
    alpha = value;
  } else if (group.naming === 'diffusers' && peft) {
    if (peft.r !== rank) return `tensor ${JSON.stringify(group.down)} has rank ${rank} but the file's lora_adapter_metadata says r = ${peft.r} for ${target.part}`;
    alpha = peft.loraAlpha;
  }
  return { target, file, downKey: group.down, upKey: group.up, rank, scale: (multiplier * alpha) / rank };
}

function unknownModule(module: string): string {
  if (/^lora_unet_(input_blocks|middle_block|output_blocks|label_emb)_/.test(module)) {
    return `no UNet layer is named ${module}: LDM-style UNet names are what kohya-ss writes for SDXL, while SD v1.5 LoRAs name diffusers modules (lora_unet_down_blocks_…)`;
  }
  return `no layer of this model is named ${module} (the names are the UNet's and text encoder's Linear/Conv2d layers for the model config; a LoRA made for another model, such as SD 2.x or SDXL, or with other block counts, does not fit)`;
}

function dtypeProblem(e: SafetensorsEntry): string | undefined {
  return FLOAT_DTYPES.has(e.dtype) ? undefined : `tensor ${JSON.stringify(e.name)} has dtype ${e.dtype}, expected F32, F16, BF16 or F64`;
}

/**
 * down [rank, in(, kh, kw)] and up [out, rank(, 1, 1)] against the layer's
 * [out, in(, kh, kw)]. A 1x1 conv (LDM's proj_in/proj_out) also takes a
 * pair trained against a Linear, and a Linear a 1x1-conv pair: same numbers.
 */
function shapeProblem(target: LoraTarget, down: SafetensorsEntry, up: SafetensorsEntry): string | undefined {
  const [out, ...inner] = target.shape as [number, ...number[]];
  const pointwise = inner.slice(1).every((d) => d === 1);
  const rank = down.shape[0];
  const layer = `layer ${target.ldmName} ${shapeText(target.shape)}`;
  const downInner = down.shape.slice(1);
  const downFits = rank !== undefined && rank >= 1 && (sameShape(downInner, inner) || (pointwise && (sameShape(downInner, [inner[0]!]) || sameShape(downInner, [inner[0]!, 1, 1]))));
  if (!downFits) {
    return `tensor ${JSON.stringify(down.name)} has shape ${shapeText(down.shape)}, expected [rank, ${inner.join(', ')}] for ${layer} (is this LoRA for SD v1.5 with this model config?)`;
  }
  const upFits = (up.shape.length === 2 || up.shape.length === 4) && up.shape[0] === out && up.shape[1] === rank && up.shape.slice(2).every((d) => d === 1);
  if (!upFits) {
    return `tensor ${JSON.stringify(up.name)} has shape ${shapeText(up.shape)}, expected [${out}, ${rank}] or [${out}, ${rank}, 1, 1] for ${layer} with ${JSON.stringify(down.name)} of rank ${rank}`;
  }
  return undefined;
}

function alphaValue(file: SafetensorsFile, e: SafetensorsEntry): number | string {
  if (!FLOAT_DTYPES.has(e.dtype) || !(e.shape.length === 0 || sameShape(e.shape, [1]))) {
    return `tensor ${JSON.stringify(e.name)} has dtype ${e.dtype} and shape ${shapeText(e.shape)}, expected one float (shape [] or [1])`;
  }
  const value = file.readFloat32(e.name)[0]!;
  return Number.isFinite(value) ? value : `tensor ${JSON.stringify(e.name)} is ${value}, expected a finite alpha`;
}
