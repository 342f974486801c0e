import { GENERATE_USAGE, parseGenerateArgs, runGenerate } from './generate-command.js';
import { setUpKernels } from '../kernels/wasm/loader.js';
import { runCli } from './run-cli.js';

/** The shell's code for a command stopped by Ctrl-C (128 + SIGINT). */
const INTERRUPTED_EXIT_CODE = 130;

async function main(argv: string[]): Promise<void> {
  setUpKernels(); // relaxed SIMD unless SD_TFLITE_SIMD=plain, before any kernel is compiled
  const args = parseGenerateArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${GENERATE_USAGE}\n`);
    return;
  }
  // Ctrl-C stops generation at the next step boundary (the networks run on
  // this thread, so that is when the handler runs); a second one quits at once.
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    if ((await runGenerate(args, process.stderr, process.stdout, interrupt.signal)) === 'interrupted') process.exitCode = INTERRUPTED_EXIT_CODE;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

runCli(main);
