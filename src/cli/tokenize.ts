import { UsageError } from '../errors.js';
import { ClipTokenizer, CONTEXT_LENGTH, TOKENIZER_MODES, type TokenizerMode } from '../pipeline/tokenizer/clip-tokenizer.js';
import { bundledTokenizerDir } from '../pipeline/tokenizer/bundled-vocabulary.js';
import { EMPHASIS_MODES, encodePrompt, type EmphasisMode } from '../pipeline/tokenizer/prompt-weights.js';
import { oneOf, parseFlags } from './parse-flags.js';
import { runCli } from './run-cli.js';

const USAGE = `usage: npm run tokenize -- --prompt TEXT [--tokenizer DIR] [--tokenizer-mode hf|seed] [--emphasis off|a1111]

Prints the ${CONTEXT_LENGTH} token ids the text encoder reads, as a JSON array on one
line, then the number of text tokens among them (and, with emphasis, the
weight of each of the ${CONTEXT_LENGTH} positions).

  --tokenizer DIR       folder with vocab.json and merges.txt (or an SD repository
                        folder holding tokenizer/); default: the CLIP vocabulary
                        bundled with sd-tflite, the same as SD v1.5's
  --prompt TEXT         the prompt
  --tokenizer-mode M    hf (default): as SD v1.5 was trained (CLIP's text clean-up,
                        start + up to 75 tokens + end); seed: the reference
                        pipeline's tokenizer, exactly
  --emphasis M          off (default): brackets are text; a1111: (word), [word],
                        (word:1.3) weight words as in AUTOMATIC1111's web UI`;

function main(argv: string[]): void {
  const values = parseFlags(argv, {
    tokenizer: { type: 'string' },
    prompt: { type: 'string' },
    'tokenizer-mode': { type: 'string' },
    emphasis: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.prompt === undefined) throw new UsageError(`--prompt TEXT is required\n${USAGE}`);
  const mode: TokenizerMode = oneOf('--tokenizer-mode', values['tokenizer-mode'] ?? 'hf', TOKENIZER_MODES);

  const emphasis: EmphasisMode = oneOf('--emphasis', values.emphasis ?? 'off', EMPHASIS_MODES);

  const tokenizer = ClipTokenizer.load(values.tokenizer ?? bundledTokenizerDir());
  const { encoded, weights, warnings } = encodePrompt(tokenizer, values.prompt, mode, emphasis);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(`${JSON.stringify(Array.from(encoded.ids))}\ntext tokens: ${encoded.textTokens}\n`);
  if (weights) process.stdout.write(`weights: ${JSON.stringify(Array.from(weights, (w) => Number(w.toPrecision(6))))}\n`);
}

runCli(main);
