import { UsageError } from '../errors.js';
import {
  ClipTokenizer,
  CONTEXT_LENGTH,
  TOKENIZER_MODES,
  truncationWarning,
  type TokenizerMode,
} from '../pipeline/tokenizer/clip-tokenizer.js';
import { bundledTokenizerDir } from '../pipeline/tokenizer/bundled-vocabulary.js';
import { oneOf, parseFlags } from './parse-flags.js';
import { runCli } from './run-cli.js';

const USAGE = `usage: npm run tokenize -- --prompt TEXT [--tokenizer DIR] [--tokenizer-mode hf|seed]

Prints the ${CONTEXT_LENGTH} token ids the text encoder reads, as a JSON array on one
line, then the number of text tokens among them.

  --tokenizer DIR       folder with vocab.json and merges.txt (or an SD repository
                        folder holding tokenizer/); default: the CLIP vocabulary
                        bundled with sd-tflite, the same as SD v1.5's
  --prompt TEXT         the prompt
  --tokenizer-mode M    hf (default): as SD v1.5 was trained (CLIP's text clean-up,
                        start + up to 75 tokens + end); seed: the reference
                        pipeline's tokenizer, exactly`;

function main(argv: string[]): void {
  const values = parseFlags(argv, {
    tokenizer: { type: 'string' },
    prompt: { type: 'string' },
    'tokenizer-mode': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.prompt === undefined) throw new UsageError(`--prompt TEXT is required\n${USAGE}`);
  const mode: TokenizerMode = oneOf('--tokenizer-mode', values['tokenizer-mode'] ?? 'hf', TOKENIZER_MODES);

  const encoded = ClipTokenizer.load(values.tokenizer ?? bundledTokenizerDir()).encode(values.prompt, mode);
  const warning = truncationWarning(encoded);
  if (warning) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(`${JSON.stringify(Array.from(encoded.ids))}\ntext tokens: ${encoded.textTokens}\n`);
}

runCli(main);
