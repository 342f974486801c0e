import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { createSampler } from '../../src/pipeline/samplers/create-sampler.js';
import { correctlyRoundedExp } from '../../src/pipeline/rng/correctly-rounded-exp.js';
import { fma32 } from '../../src/pipeline/samplers/float32-fma.js';
import { lmsCoefficients } from '../../src/pipeline/samplers/k-lms.js';
import { alphasCumprod } from '../../src/pipeline/samplers/noise-schedule.js';
import { numpyFloat32Log } from '../../src/pipeline/samplers/numpy-float32-log.js';
import { linspace, pairwiseSum } from '../../src/pipeline/samplers/numpy-numerics.js';

/** Made by scripts/gen-sampler-fixture.py (numpy re-evaluation of the reference, diffusers, k-diffusion). */
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/pipeline-math/samplers.json', import.meta.url), 'utf8'),
) as {
  float32_log: { inputs: number[]; outputs: number[] };
  alphas_cumprod: number[];
  reference_schedules: { steps: number; timesteps: number[]; sigmas: number[]; input_scales: number[] }[];
  set_strength: { steps: number; strength: number; start_step: number; timesteps: number[]; initial_scale: number }[];
  lms_coefficients: { steps: number; start_step: number; coefficients: number[][] }[];
  synthetic: { noise: number[]; eps: number[][] };
  ddim: { steps: number; timesteps: number[]; unet_input_0: number[]; final: number[] }[];
  dpmpp_2m_karras: { steps: number; sigmas: number[]; timesteps: number[]; final: number[] }[];
  exp: [number, number][];
};

/** |a − b| <= ulps · ulp(b), elementwise: for float64 results whose exp/log may round differently from numpy's. */
function expectUlpClose(got: readonly number[], want: readonly number[], ulps: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    const tol = w === 0 ? 0 : ulps * 2 ** (Math.floor(Math.log2(Math.abs(w))) - 52);
    if (!(Math.abs(g - w) <= tol)) expect.fail(`element ${i}: ${g} vs ${w}`);
  });
}

function expectRelClose(got: ArrayLike<number>, want: readonly number[], rel: number): void {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= rel * scale)) expect.fail(`element ${i}: ${got[i]} vs ${want[i]}`);
  }
}

describe('numpy-compatible numerics', () => {
  it("numpyFloat32Log equals numpy's float32 np.log bit for bit (incl. the sigma table)", () => {
    const { inputs, outputs } = fixture.float32_log;
    const wrong = inputs.filter((x, i) => !Object.is(numpyFloat32Log(x), outputs[i]));
    expect(wrong).toEqual([]);
    // numpy's kernel is not correctly rounded: the fixture must contain inputs where it differs.
    const differsFromCorrect = inputs.filter((x, i) => Math.fround(Math.log(x)) !== outputs[i]).length;
    expect(differsFromCorrect).toBeGreaterThan(50);
  });

  it('correctlyRoundedExp equals the correctly rounded e^x (60-digit decimal) everywhere in the fixture', () => {
    expect(fixture.exp.length).toBeGreaterThan(400);
    expect(fixture.exp.filter(([x, y]) => correctlyRoundedExp(x) !== y)).toEqual([]);
    // ...where V8's Math.exp is sometimes 1 ulp off.
    expect(fixture.exp.filter(([x, y]) => Math.exp(x) !== y).length).toBeGreaterThan(0);
  });

  it('fma32 rounds once', () => {
    // 1 + 2^-24 is a float32 midpoint below 1 + 2^-23; an exact product term of 2^-60 decides upward.
    const a = Math.fround(1 + 2 ** -23);
    const b = Math.fround(2 ** -24 + 2 ** -47);
    expect(fma32(a, b, 1)).toBe(Math.fround(1 + 2 ** -23));
    expect(fma32(2, 3, 4)).toBe(10);
  });

  it('linspace and pairwiseSum follow numpy', () => {
    expect(Array.from(linspace(999, 0, 4))).toEqual([999, 666, 333, 0]);
    expect(Array.from(linspace(5, 5, 3))).toEqual([5, 5, 5]);
    // np.sum of this is 7.0 (8 partial sums, 1e16 + 1 rounds to 1e16); left to right gives 1.
    const a = [1e16, 1, 1, 1, 1, 1, 1, 1, -1e16, 1];
    expect(pairwiseSum(a)).toBe(7);
    expect(a.reduce((x, y) => x + y, 0)).toBe(1);
  });

  it("alphas_cumprod equals the reference's float32 table", () => {
    expect(Array.from(alphasCumprod())).toEqual(fixture.alphas_cumprod);
  });
});

describe('reference sampler schedules (k_euler, k_euler_ancestral, k_lms)', () => {
  for (const s of fixture.reference_schedules) {
    it(`${s.steps} steps: timesteps exact, sigmas and input scales within 2 ulp`, () => {
      for (const name of ['k_euler', 'k_euler_ancestral', 'k_lms']) {
        const sampler = createSampler(name, s.steps);
        expect(sampler.timesteps).toEqual(s.timesteps);
        expectUlpClose(sampler.sigmas, s.sigmas, 2);
        expect(sampler.initialScale).toBe(sampler.sigmas[0]);
        const latents = new Float32Array(4);
        const scales = s.timesteps.map(() => {
          const scale = sampler.inputScale();
          sampler.step(latents, new Float32Array(4), { normal: (n) => new Float64Array(n) });
          return scale;
        });
        expectUlpClose(scales, s.input_scales, 4);
      }
    });
  }

  for (const c of fixture.set_strength) {
    it(`set_strength(${c.strength}) with ${c.steps} steps starts at step ${c.start_step}`, () => {
      const sampler = createSampler('k_euler', c.steps);
      sampler.setStrength(c.strength);
      expect(sampler.stepIndex).toBe(c.start_step);
      expect(sampler.timesteps).toEqual(c.timesteps);
      expectUlpClose([sampler.initialScale], [c.initial_scale], 2);
    });
  }

  it('rejects bad step counts, strengths and names', () => {
    expect(() => createSampler('k_euler', 0)).toThrow(UsageError);
    expect(() => createSampler('k_euler', 2.5)).toThrow(UsageError);
    expect(() => createSampler('euler_a', 10)).toThrow(UsageError);
    expect(() => createSampler('ddim', 1001)).toThrow(UsageError);
    const s = createSampler('k_lms', 10);
    expect(() => s.setStrength(0)).toThrow(UsageError);
    expect(() => s.setStrength(1.5)).toThrow(UsageError);
  });
});

describe('k_lms coefficients', () => {
  for (const c of fixture.lms_coefficients) {
    it(`${c.steps} steps from step ${c.start_step}: trapezoid coefficients bit for bit`, () => {
      const { sigmas } = fixture.reference_schedules.find((s) => s.steps === c.steps)!;
      c.coefficients.forEach((row, k) => {
        expect(lmsCoefficients(sigmas, c.start_step + k, row.length)).toEqual(row);
      });
    });
  }
});

/** Runs a sampler over the fixture's synthetic noise and ε sequence. */
function runSynthetic(name: string, steps: number): { final: Float32Array; firstUnetInput: number[] } {
  const sampler = createSampler(name, steps);
  const latents = Float32Array.from(fixture.synthetic.noise, (v) => v * sampler.initialScale);
  const firstUnetInput: number[] = [];
  sampler.timesteps.forEach((_, i) => {
    firstUnetInput.push(latents[0]! * sampler.inputScale());
    sampler.step(latents, Float32Array.from(fixture.synthetic.eps[i]!));
  });
  return { final: latents, firstUnetInput };
}

describe('ddim (diffusers DDIMScheduler, SD v1.5 config, eta 0)', () => {
  for (const c of fixture.ddim) {
    it(`${c.steps} steps: timesteps, UNet inputs and final latents as diffusers' VP-form DDIM`, () => {
      expect(createSampler('ddim', c.steps).timesteps).toEqual(c.timesteps);
      const { final, firstUnetInput } = runSynthetic('ddim', c.steps);
      expectRelClose(firstUnetInput, c.unet_input_0, 1e-5);
      expectRelClose(final, c.final, 1e-5);
    });
  }
});

describe('img2img start (setStrength) of the extra samplers', () => {
  it("ddim: txt2img starts from diffusers' x_T = noise (scale √(σ²+1)), img2img from x0 + σ·noise", () => {
    const s = createSampler('ddim', 20);
    expect(s.initialScale).toBe(Math.sqrt(s.sigmas[0]! ** 2 + 1));
    s.setStrength(0.5);
    expect(s.stepIndex).toBe(10);
    expect(s.timesteps).toEqual(createSampler('ddim', 20).timesteps.slice(10));
    expect(s.initialScale).toBe(s.sigmas[10]);
  });

  it('dpmpp_2m: the first step after setStrength is first order (no history from before)', () => {
    const eps = Float32Array.from(fixture.synthetic.eps[0]!);
    const x = Float32Array.from(fixture.synthetic.noise, (v) => 3 * v);
    const a = createSampler('dpmpp_2m', 10);
    a.step(new Float32Array(16), Float32Array.from(fixture.synthetic.eps[1]!)); // leaves history behind
    a.setStrength(0.5);
    const b = createSampler('dpmpp_2m', 10);
    b.setStrength(0.5);
    const fromB = b.step(Float32Array.from(x), eps);
    expect(a.step(Float32Array.from(x), eps)).toEqual(fromB);
    const ratio = b.sigmas[6]! / b.sigmas[5]!;
    const firstOrder = Array.from(x, (v, k) => ratio * v + (1 - ratio) * (v - b.sigmas[5]! * eps[k]!));
    expectRelClose(fromB, firstOrder, 1e-6);
  });
});

describe('dpmpp_2m (k-diffusion sample_dpmpp_2m with Karras sigmas)', () => {
  for (const c of fixture.dpmpp_2m_karras) {
    it(`${c.steps} steps: sigmas, fractional timesteps and final latents as k-diffusion`, () => {
      const sampler = createSampler('dpmpp_2m', c.steps);
      expectRelClose(sampler.sigmas, c.sigmas, 1e-13);
      expectRelClose(sampler.timesteps, c.timesteps, 1e-12);
      expectRelClose(runSynthetic('dpmpp_2m', c.steps).final, c.final, 1e-5);
    });
  }
});
