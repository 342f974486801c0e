/** Flag values the kernel benchmark suites share. */
import { UsageError } from '../../src/errors.js';
import type { KernelVariant } from '../../src/kernels/wasm/loader.js';

/** `--threads 1,2`: a list of thread counts >= 1. */
export function parseThreadList(value: string): number[] {
  const threads = value.split(',').map((t) => (/^\d+$/.test(t) ? Number(t) : NaN));
  if (!threads.every((t) => t >= 1)) throw new UsageError(`--threads must be a comma-separated list of whole numbers >= 1, got ${JSON.stringify(value)}`);
  return threads;
}

/** `--variant simd|relaxed|both`. */
export function parseVariants(value: string): KernelVariant[] {
  if (value === 'both') return ['simd', 'relaxed'];
  if (value === 'simd' || value === 'relaxed') return [value];
  throw new UsageError(`--variant must be simd, relaxed or both, got ${JSON.stringify(value)}`);
}

/** The flags every timed kernel suite takes (conv, gemm-int8, kernels): spread into its parseFlags table. */
export const MEASUREMENT_FLAGS = {
  threads: { type: 'string' },
  variant: { type: 'string' },
  'max-time': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
