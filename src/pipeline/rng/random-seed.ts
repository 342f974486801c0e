import { randomInt } from 'node:crypto';

/** A fresh seed for a run without `--seed` (print it so the run can be repeated): uniform in [0, 2^32 − 1]. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32);
}
