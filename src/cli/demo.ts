import { DEMO_USAGE, parseDemoArgs, runDemo } from './demo-command.js';
import { runCli } from './run-cli.js';

async function main(argv: string[]): Promise<void> {
  const args = parseDemoArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return;
  }
  await runDemo(args);
}

runCli(main);
