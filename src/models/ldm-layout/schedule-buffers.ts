/**
 * The noise-schedule buffers that LDM's DDPM.register_schedule stores in every
 * SD v1 checkpoint ("linear" schedule of v1-inference.yaml, v_posterior = 0),
 * computed in float64 as the original does before its float32 cast.
 */
export const SCHEDULE_BUFFER_NAMES = [
  'betas',
  'alphas_cumprod',
  'alphas_cumprod_prev',
  'sqrt_alphas_cumprod',
  'sqrt_one_minus_alphas_cumprod',
  'log_one_minus_alphas_cumprod',
  'sqrt_recip_alphas_cumprod',
  'sqrt_recipm1_alphas_cumprod',
  'posterior_variance',
  'posterior_log_variance_clipped',
  'posterior_mean_coef1',
  'posterior_mean_coef2',
] as const;

export type ScheduleBufferName = (typeof SCHEDULE_BUFFER_NAMES)[number];

export const SD_TIMESTEPS = 1000;
export const SD_LINEAR_START = 0.00085;
export const SD_LINEAR_END = 0.012;

/**
 * All twelve buffers. betas = linspace(sqrt(start), sqrt(end), n)² where the
 * linspace is torch's float64 one (filled from both ends), as make_beta_schedule does.
 */
export function scheduleBuffers(
  timesteps = SD_TIMESTEPS,
  linearStart = SD_LINEAR_START,
  linearEnd = SD_LINEAR_END,
): Record<ScheduleBufferName, Float64Array> {
  const n = timesteps;
  const a = Math.sqrt(linearStart);
  const b = Math.sqrt(linearEnd);
  const step = (b - a) / (n - 1);
  const betas = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = i < Math.floor(n / 2) ? a + step * i : b - step * (n - 1 - i);
    betas[i] = x * x;
  }
  const map = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  const alphasCumprod = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    prod *= 1 - betas[i]!;
    alphasCumprod[i] = prod;
  }
  const ac = (i: number) => alphasCumprod[i]!;
  const acPrev = map((i) => (i === 0 ? 1 : ac(i - 1)));
  const posteriorVariance = map((i) => (betas[i]! * (1 - acPrev[i]!)) / (1 - ac(i)));
  return {
    betas,
    alphas_cumprod: alphasCumprod,
    alphas_cumprod_prev: acPrev,
    sqrt_alphas_cumprod: map((i) => Math.sqrt(ac(i))),
    sqrt_one_minus_alphas_cumprod: map((i) => Math.sqrt(1 - ac(i))),
    log_one_minus_alphas_cumprod: map((i) => Math.log(1 - ac(i))),
    sqrt_recip_alphas_cumprod: map((i) => Math.sqrt(1 / ac(i))),
    sqrt_recipm1_alphas_cumprod: map((i) => Math.sqrt(1 / ac(i) - 1)),
    posterior_variance: posteriorVariance,
    posterior_log_variance_clipped: map((i) => Math.log(Math.max(posteriorVariance[i]!, 1e-20))),
    posterior_mean_coef1: map((i) => (betas[i]! * Math.sqrt(acPrev[i]!)) / (1 - ac(i))),
    posterior_mean_coef2: map((i) => ((1 - acPrev[i]!) * Math.sqrt(1 - betas[i]!)) / (1 - ac(i))),
  };
}
