/**
 * One entry of a checkpoint's tensor table, described from the model config
 * alone (no data): what a real checkpoint of that architecture holds.
 */
export type CheckpointDtype = 'F32' | 'F16' | 'I64' | 'I32';

/** Which part of the checkpoint an entry belongs to. */
export type Component = 'unet' | 'vae' | 'text_encoder' | 'schedule' | 'ema';

/**
 * What an entry is, which decides how random weights are drawn for it:
 * `weight` is a conv or linear weight (fan-in = product of shape[1:]).
 * The buffers (`position_ids`, `schedule`, `ema_*`) have fixed contents.
 */
export type TensorKind =
  | 'weight'
  | 'bias'
  | 'norm_weight'
  | 'norm_bias'
  | 'token_embedding'
  | 'position_embedding'
  | 'position_ids'
  | 'schedule'
  | 'ema_decay'
  | 'ema_num_updates';

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: CheckpointDtype;
  kind: TensorKind;
  component: Component;
}

/** Collects specs under a key prefix, in PyTorch state_dict order. */
export class SpecList {
  constructor(
    private readonly out: TensorSpec[],
    private readonly prefix: string,
    private readonly component: Component,
  ) {}

  /** A list whose names continue this one's prefix with `name.`. */
  sub(name: string | number): SpecList {
    return new SpecList(this.out, `${this.prefix}${name}.`, this.component);
  }

  add(name: string, shape: number[], kind: TensorKind, dtype: CheckpointDtype = 'F32'): void {
    this.out.push({ name: this.prefix + name, shape, dtype, kind, component: this.component });
  }

  /** nn.Linear(inF, outF): weight [out, in] then bias. */
  linear(name: string, inF: number, outF: number, bias = true): void {
    this.add(`${name}.weight`, [outF, inF], 'weight');
    if (bias) this.add(`${name}.bias`, [outF], 'bias');
  }

  /** nn.Conv2d(inC, outC, k): weight [out, in, k, k] then bias. */
  conv(name: string, inC: number, outC: number, kernel: number): void {
    this.add(`${name}.weight`, [outC, inC, kernel, kernel], 'weight');
    this.add(`${name}.bias`, [outC], 'bias');
  }

  /** GroupNorm or LayerNorm over `channels`: weight then bias. */
  norm(name: string, channels: number): void {
    this.add(`${name}.weight`, [channels], 'norm_weight');
    this.add(`${name}.bias`, [channels], 'norm_bias');
  }
}
