import { GENERATE_USAGE, parseGenerateArgs, runGenerate } from './generate-command.js';
import { setUpKernels } from '../kernels/wasm/loader.js';
import { runCli } from './run-cli.js';

async function main(argv: string[]): Promise<void> {
  setUpKernels(); // relaxed SIMD unless SD_TFLITE_SIMD=plain, before any kernel is compiled
  const args = parseGenerateArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${GENERATE_USAGE}\n`);
    return;
  }
  await runGenerate(args);
}

runCli(main);
