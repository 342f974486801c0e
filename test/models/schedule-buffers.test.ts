import { describe, expect, it } from 'vitest';
import { SCHEDULE_BUFFER_NAMES, scheduleBuffers } from '../../src/models/ldm-layout/schedule-buffers.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';

/** Plain float64 reference, written from ddpm.py register_schedule's formulas. */
function reference(): Record<string, number[]> {
  const n = 1000;
  const lo = Math.sqrt(0.00085);
  const hi = Math.sqrt(0.012);
  const betas = Array.from({ length: n }, (_, i) => (lo + ((hi - lo) * i) / (n - 1)) ** 2);
  const alphas = betas.map((b) => 1 - b);
  const ac: number[] = [];
  alphas.forEach((a, i) => ac.push(i === 0 ? a : ac[i - 1]! * a));
  const acp = [1, ...ac.slice(0, -1)];
  const pv = betas.map((b, i) => (b * (1 - acp[i]!)) / (1 - ac[i]!));
  return {
    betas,
    alphas_cumprod: ac,
    alphas_cumprod_prev: acp,
    sqrt_alphas_cumprod: ac.map(Math.sqrt),
    sqrt_one_minus_alphas_cumprod: ac.map((x) => Math.sqrt(1 - x)),
    log_one_minus_alphas_cumprod: ac.map((x) => Math.log(1 - x)),
    sqrt_recip_alphas_cumprod: ac.map((x) => 1 / Math.sqrt(x)),
    sqrt_recipm1_alphas_cumprod: ac.map((x) => Math.sqrt((1 - x) / x)),
    posterior_variance: pv,
    posterior_log_variance_clipped: pv.map((v) => Math.log(Math.max(v, 1e-20))),
    posterior_mean_coef1: betas.map((b, i) => (b * Math.sqrt(acp[i]!)) / (1 - ac[i]!)),
    posterior_mean_coef2: alphas.map((a, i) => ((1 - acp[i]!) * Math.sqrt(a)) / (1 - ac[i]!)),
  };
}

describe('DDPM schedule buffers', () => {
  const ours = scheduleBuffers();
  const ref = reference();

  it('equal a plain float64 computation within 1e-12 relative', () => {
    for (const name of SCHEDULE_BUFFER_NAMES) {
      const r = ref[name]!;
      let worst = 0;
      ours[name].forEach((v, i) => {
        const err = Math.abs(v - r[i]!);
        worst = Math.max(worst, r[i] === 0 ? err : err / Math.abs(r[i]!));
      });
      expect({ name, ok: worst <= 1e-12 }).toEqual({ name, ok: true });
    }
    expect(ours.betas[0]).toBeCloseTo(0.00085, 15);
    expect(ours.betas[999]).toBeCloseTo(0.012, 15);
    expect(ours.alphas_cumprod_prev[0]).toBe(1);
    expect(ours.posterior_variance[0]).toBe(0);
  });

  it("rounded to float32, equal the values PyTorch stored in tiny-a's checkpoint", () => {
    const file = SafetensorsFile.open('test/fixtures/tiny-a/tiny-a.safetensors');
    for (const name of SCHEDULE_BUFFER_NAMES) {
      expect(file.entry(name).dtype).toBe('F32');
      expect({ name, values: Array.from(Float32Array.from(ours[name])) }).toEqual({ name, values: Array.from(file.readFloat32(name)) });
    }
    file.close();
  });
});
