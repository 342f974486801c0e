/**
 * Checkpoints as the builders see them: tensors by their original-LDM name,
 * wherever the file layout keeps them. Two layouts are read:
 *
 * - ldm: one safetensors file (v1-5-pruned-emaonly.safetensors) with
 *   model.diffusion_model.*, first_stage_model.*, cond_stage_model.*.
 * - diffusers: a folder with text_encoder/model.safetensors,
 *   unet/diffusion_pytorch_model.safetensors and
 *   vae/diffusion_pytorch_model.safetensors (or their .fp16.safetensors
 *   variants), keys mapped by diffusers-names.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FormatError, UsageError } from '../../errors.js';
import { SafetensorsFile } from '../../io/safetensors.js';
import type { ModelConfig } from '../config.js';
import { TEXT_ENCODER_PREFIX, UNET_PREFIX, VAE_PREFIX } from '../ldm-layout/index.js';
import { diffusersLocation, type DiffusersPart } from './diffusers-names.js';

export type CheckpointLayout = 'ldm' | 'diffusers';

/** Where one LDM-named tensor is stored. */
export interface TensorLocation {
  file: SafetensorsFile;
  key: string;
}

export interface Checkpoint {
  readonly layout: CheckpointLayout;
  readonly path: string;
  /** The stored tensor for an LDM name; undefined when absent. Throws if a needed file is missing. */
  locate(ldmName: string): TensorLocation | undefined;
  /** How a missing tensor is named in messages (its key in this layout). */
  describe(ldmName: string): string;
  close(): void;
}

const LDM_PREFIXES = [UNET_PREFIX, VAE_PREFIX, TEXT_ENCODER_PREFIX];
const NEITHER =
  'is neither an original-LDM checkpoint (one .safetensors file with model.diffusion_model.*, first_stage_model.* and ' +
  'cond_stage_model.* tensors) nor a diffusers folder (text_encoder/, unet/, vae/ with .safetensors files)';

/** Opens a checkpoint file or folder, detecting its layout. */
export function openCheckpoint(ckptPath: string, config: ModelConfig): Checkpoint {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(ckptPath);
  } catch (err) {
    throw new UsageError(`cannot read checkpoint ${ckptPath}: ${(err as Error).message}`);
  }
  if (stat.isDirectory()) {
    if (!Object.keys(DIFFUSERS_FILES).some((part) => fs.existsSync(path.join(ckptPath, part)))) {
      throw new FormatError(ckptPath, NEITHER);
    }
    return new DiffusersCheckpoint(ckptPath, config);
  }
  const file = SafetensorsFile.open(ckptPath);
  if (![...file.entries.keys()].some((k) => LDM_PREFIXES.some((p) => k.startsWith(p)))) {
    file.close();
    throw new FormatError(ckptPath, NEITHER);
  }
  return new LdmCheckpoint(file);
}

class LdmCheckpoint implements Checkpoint {
  readonly layout = 'ldm';
  readonly path: string;

  constructor(private readonly file: SafetensorsFile) {
    this.path = file.path;
  }

  locate(ldmName: string): TensorLocation | undefined {
    return this.file.entries.has(ldmName) ? { file: this.file, key: ldmName } : undefined;
  }

  describe(ldmName: string): string {
    return JSON.stringify(ldmName);
  }

  close(): void {
    this.file.close();
  }
}

/** Each part's file names, preferred first. */
const DIFFUSERS_FILES: Record<DiffusersPart, string[]> = {
  text_encoder: ['model.safetensors', 'model.fp16.safetensors'],
  unet: ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors'],
  vae: ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors'],
};

class DiffusersCheckpoint implements Checkpoint {
  readonly layout = 'diffusers';
  private readonly files = new Map<DiffusersPart, SafetensorsFile>();

  constructor(
    readonly path: string,
    private readonly config: ModelConfig,
  ) {}

  locate(ldmName: string): TensorLocation | undefined {
    const where = diffusersLocation(ldmName, this.config);
    if (!where) return undefined;
    const file = this.part(where.part);
    const key = where.keys.find((k) => file.entries.has(k));
    return key === undefined ? undefined : { file, key };
  }

  describe(ldmName: string): string {
    const where = diffusersLocation(ldmName, this.config);
    if (!where) return `${JSON.stringify(ldmName)} (no diffusers equivalent)`;
    return `${where.part}/${where.keys.map((k) => JSON.stringify(k)).join(' or ')} (LDM name ${ldmName})`;
  }

  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
  }

  private part(part: DiffusersPart): SafetensorsFile {
    let file = this.files.get(part);
    if (!file) {
      const names = DIFFUSERS_FILES[part];
      const found = names.map((n) => path.join(this.path, part, n)).find((p) => fs.existsSync(p));
      if (!found) throw new FormatError(this.path, `diffusers folder has no ${names.map((n) => `${part}/${n}`).join(' or ')}`);
      file = SafetensorsFile.open(found);
      this.files.set(part, file);
    }
    return file;
  }
}
