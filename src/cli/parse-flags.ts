/**
 * Command-line parsing shared by every CLI and benchmark entry point: node's
 * parseArgs with unknown flags refused and its errors turned into a
 * UsageError that ends with the command's usage text, plus checks of flag
 * values (numbers, choices, paths) whose errors name the flag and the value.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { makeFolders } from './make-folders.js';

type FlagOptions = NonNullable<ParseArgsConfig['options']>;
type FlagsConfig<O extends FlagOptions> = { args: string[]; options: O; strict: true; allowPositionals: false };
/** The parsed flag values, typed from the option table as parseArgs types them. */
export type FlagValues<O extends FlagOptions> = ReturnType<typeof parseArgs<FlagsConfig<O>>>['values'];

/** A value that starts with '-' but is a number (`--cfg -1`), not a flag. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * `--flag -1` becomes `--flag=-1` when --flag takes a value, so a negative
 * number reaches the flag's own check (which says what range it wants)
 * instead of parseArgs's "argument is ambiguous".
 */
function joinNegativeValues(argv: string[], options: FlagOptions): string[] {
  const takesValue = (token: string): boolean => {
    if (token.startsWith('--')) return options[token.slice(2)]?.type === 'string';
    return /^-[^-]$/.test(token) && Object.values(options).some((o) => o.short === token[1] && o.type === 'string');
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (next !== undefined && NEGATIVE_NUMBER.test(next) && !token.includes('=') && takesValue(token)) {
      out.push(token.startsWith('--') ? `${token}=${next}` : `${token}${next}`);
      i++;
    } else {
      out.push(token);
    }
  }
  return out;
}

function parse<O extends FlagOptions>(argv: string[], options: O, usage: string, allowPositionals: boolean) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}

/**
 * A command line of --flags only (no positional arguments), unknown flags
 * refused: node's parseArgs, with its errors turned into a UsageError that
 * ends with the command's usage text.
 */
export function parseFlags<const O extends FlagOptions>(argv: string[], options: O, usage: string): FlagValues<O> {
  return parse(argv, options, usage, false).values as FlagValues<O>;
}

/**
 * As parseFlags, for commands that also take positional arguments
 * (`info MODEL.tflite --json`); the caller checks how many it got.
 */
export function parseFlagsAndPositionals<const O extends FlagOptions>(
  argv: string[],
  options: O,
  usage: string,
): { values: FlagValues<O>; positionals: string[] } {
  const { values, positionals } = parse(argv, options, usage, true);
  return { values: values as FlagValues<O>, positionals };
}

/** `--flag N`: a whole number from `min` (default 1) to `max`. */
export function wholeNumber(flag: string, text: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be a whole number ${range}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** `--flag X`: a finite number above 0 (seconds, scales). */
export function positiveNumber(flag: string, text: string): number {
  const n = /^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
  if (!(n > 0 && Number.isFinite(n))) throw new UsageError(`${flag} must be a number above 0, got ${JSON.stringify(text)}`);
  return n;
}

/** `--flag NAME`: one of `allowed`. */
export function oneOf<const T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
  return text as T;
}

/** `--flag A,B`: a comma-separated, non-empty list of items from `allowed`. */
export function listOf<const T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      const within = items.length > 1 ? ` (in ${JSON.stringify(text)})` : '';
      throw new UsageError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; ${JSON.stringify(item)} is not one${within}`);
    }
  }
  return items as T[];
}

function nonEmpty(flag: string, path: string): void {
  if (path === '') throw new UsageError(`${flag} needs a path, got ""`);
}

/** `--flag DIR` that must be an existing folder. */
export function existingFolder(flag: string, dir: string): string {
  nonEmpty(flag, dir);
  if (!existsSync(dir)) throw new UsageError(`${flag}: folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${flag}: ${dir} is not a folder`);
  return dir;
}

/** `--flag FILE` that must be an existing file. */
export function existingFile(flag: string, file: string): string {
  nonEmpty(flag, file);
  if (!existsSync(file)) throw new UsageError(`${flag}: file ${file} does not exist`);
  if (statSync(file).isDirectory()) throw new UsageError(`${flag}: ${file} is a folder, not a file`);
  return file;
}

/**
 * `--flag FILE` to be written at the end of a run, checked now so a bad path
 * fails before the work, not after it: its folder must exist, or with
 * `makeFolder` is made now (as `mkdir -p`); the path must not be a folder.
 */
export function outputFile(flag: string, file: string, { makeFolder = true } = {}): string {
  nonEmpty(flag, file);
  const folder = dirname(resolve(file));
  if (makeFolder) {
    try {
      makeFolders(folder);
    } catch (err) {
      throw new UsageError(`${flag}: cannot make the folder of ${file}: ${(err as Error).message}`);
    }
  } else if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UsageError(`${flag}: cannot write ${file}: folder ${folder} does not exist`);
  }
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`${flag}: cannot write ${file}: it is a folder`);
  return file;
}

/** `--flag DIR` to write into: made if missing (as `mkdir -p`). */
export function outputFolder(flag: string, dir: string): string {
  nonEmpty(flag, dir);
  try {
    makeFolders(dir);
  } catch (err) {
    throw new UsageError(`${flag}: cannot make folder ${dir}: ${(err as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`${flag}: ${dir} is not a folder`);
  return dir;
}
