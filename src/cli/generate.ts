import { GENERATE_USAGE, parseGenerateArgs, runGenerate } from './generate-command.js';
import { runCli } from './run-cli.js';

async function main(argv: string[]): Promise<void> {
  const args = parseGenerateArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${GENERATE_USAGE}\n`);
    return;
  }
  await runGenerate(args);
}

runCli(main);
