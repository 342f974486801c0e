import { UsageError } from '../../errors.js';
import type { NoiseSource, Sampler, SamplerName } from './sampler.js';
import type { Schedule } from './noise-schedule.js';

/**
 * What every sampler shares: the schedule, the step counter, the input
 * scale and img2img's start step. Subclasses supply the update rule.
 */
export abstract class ScheduledSampler implements Sampler {
  abstract readonly name: SamplerName;
  readonly sigmas: readonly number[];
  private readonly allTimesteps: readonly number[];
  private remainingTimesteps: readonly number[];
  private index = 0;
  /** initialScale; a subclass may set its own (DDIM). */
  protected scaleAtStart: number;

  constructor(schedule: Schedule) {
    if (schedule.sigmas.length !== schedule.timesteps.length + 1) {
      throw new Error('schedule needs one more sigma than timesteps');
    }
    this.sigmas = schedule.sigmas;
    this.allTimesteps = schedule.timesteps;
    this.remainingTimesteps = schedule.timesteps;
    this.scaleAtStart = Math.max(...schedule.sigmas);
  }

  get steps(): number {
    return this.allTimesteps.length;
  }

  get timesteps(): readonly number[] {
    return this.remainingTimesteps;
  }

  get initialScale(): number {
    return this.scaleAtStart;
  }

  get stepIndex(): number {
    return this.index;
  }

  scaleInitialNoise(noise: Float32Array): Float32Array {
    const scale = Math.fround(this.initialScale);
    return noise.map((v) => v * scale);
  }

  inputScale(): number {
    const sigma = this.sigmas[this.index]!;
    return 1 / Math.sqrt(sigma * sigma + 1);
  }

  scaleModelInput(latents: Float32Array): Float32Array {
    const scale = Math.fround(this.inputScale());
    return latents.map((v) => v * scale);
  }

  setStrength(strength: number): void {
    if (!(strength > 0 && strength <= 1)) {
      throw new UsageError(`strength must be in (0, 1], got ${strength}`);
    }
    const start = this.steps - Math.floor(this.steps * strength);
    this.remainingTimesteps = this.allTimesteps.slice(start);
    this.scaleAtStart = this.sigmas[start]!;
    this.index = start;
    this.resetHistory();
  }

  step(latents: Float32Array, modelOutput: Float32Array, noise?: NoiseSource): Float32Array {
    if (this.index >= this.steps) throw new Error(`${this.name}: all ${this.steps} steps already taken`);
    if (modelOutput.length !== latents.length) {
      throw new Error(`${this.name}: model output has ${modelOutput.length} values, latents ${latents.length}`);
    }
    const i = this.index++;
    this.update(latents, modelOutput, i, noise);
    return latents;
  }

  /** Samplers with memory (multistep methods) forget it when the start step changes. */
  protected resetHistory(): void {}

  /** Moves latents from sigmas[i] to sigmas[i + 1] in place. */
  protected abstract update(
    latents: Float32Array,
    modelOutput: Float32Array,
    i: number,
    noise: NoiseSource | undefined,
  ): void;
}
