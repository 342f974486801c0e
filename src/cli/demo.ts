import { DEMO_USAGE, parseDemoArgs, runDemo } from './demo-command.js';
import { setUpKernels } from '../kernels/wasm/loader.js';
import { runCli } from './run-cli.js';

async function main(argv: string[]): Promise<void> {
  setUpKernels(); // relaxed SIMD unless SD_TFLITE_SIMD=plain, before any kernel is compiled
  const args = parseDemoArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return;
  }
  await runDemo(args);
}

runCli(main);
