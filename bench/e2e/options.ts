/** Flag values the e2e suite and its child process share. */
import { wholeNumber } from '../../src/cli/parse-flags.js';
import { UsageError } from '../../src/errors.js';

/** `--width` / `--height`: image pixels, a multiple of 8 (the latent is 1/8 of the image). */
export function imageSize(flag: string, text: string): number {
  const n = wholeNumber(flag, text, 8, 4096);
  if (n % 8 !== 0) throw new UsageError(`${flag} must be a multiple of 8, got ${n}`);
  return n;
}
