import { SdError, UsageError } from '../errors.js';

/**
 * Runs a CLI entry point: an SdError (bad file, bad argument) prints one
 * clear line and exits 1 (2 for usage errors); anything else is a bug and
 * keeps its stack trace.
 */
export function runCli(main: (argv: string[]) => Promise<void> | void): void {
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .catch((err: unknown) => {
      if (err instanceof SdError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exitCode = err instanceof UsageError ? 2 : 1;
      } else {
        process.stderr.write(`internal error (a bug in sd-tflite): ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exitCode = 70;
      }
    });
}
