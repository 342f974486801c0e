import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

type FlagOptions = NonNullable<ParseArgsConfig['options']>;
type FlagsConfig<O extends FlagOptions> = { args: string[]; options: O; strict: true; allowPositionals: false };
/** The parsed flag values, typed from the option table as parseArgs types them. */
export type FlagValues<O extends FlagOptions> = ReturnType<typeof parseArgs<FlagsConfig<O>>>['values'];

/**
 * A command line of --flags only (no positional arguments), unknown flags
 * refused: node's parseArgs, with its errors turned into a UsageError that
 * ends with the command's usage text.
 */
export function parseFlags<const O extends FlagOptions>(argv: string[], options: O, usage: string): FlagValues<O> {
  try {
    return parseArgs<FlagsConfig<O>>({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}
