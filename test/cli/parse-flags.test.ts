import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  existingFile, existingFolder, listOf, oneOf, outputFile, outputFolder, parseFlags, parseFlagsAndPositionals, positiveNumber, wholeNumber,
} from '../../src/cli/parse-flags.js';
import { UsageError } from '../../src/errors.js';

const USAGE = 'usage: test [--n N] [--x X] [-t N] [--on]';
const OPTIONS = { n: { type: 'string' }, x: { type: 'string' }, t: { type: 'string', short: 't' }, on: { type: 'boolean' } } as const;

/** The UsageError message `fn` throws (fails the test if it throws anything else or nothing). */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseFlags', () => {
  it('parses flags; an unknown flag or a missing value is a UsageError ending with the usage', () => {
    expect(parseFlags(['--n', '3', '--on'], OPTIONS, USAGE)).toEqual({ n: '3', on: true });
    expect(usageError(() => parseFlags(['--bogus'], OPTIONS, USAGE))).toMatch(/^Unknown option '--bogus'.*\nusage: test/s);
    expect(usageError(() => parseFlags(['--n'], OPTIONS, USAGE))).toMatch(/^Option '--n <value>' argument missing\nusage: test/);
    expect(usageError(() => parseFlags(['file'], OPTIONS, USAGE))).toMatch(/positional argument.*\nusage: test/s);
  });

  it('takes a negative number after a flag that wants a value as its value', () => {
    expect(parseFlags(['--n', '-1', '--x', '-.5', '-t', '-2'], OPTIONS, USAGE)).toEqual({ n: '-1', x: '-.5', t: '-2' });
    // Not after a boolean flag, and not a word starting with '-'.
    expect(usageError(() => parseFlags(['--on', '-1'], OPTIONS, USAGE))).toMatch(/Unknown option '-1'/);
    expect(usageError(() => parseFlags(['--n', '-x'], OPTIONS, USAGE))).toMatch(/ambiguous/);
  });

  it('parseFlagsAndPositionals returns both; after -- everything is positional', () => {
    expect(parseFlagsAndPositionals(['a', '--n', '2', 'b', '--', '--on'], OPTIONS, USAGE)).toEqual({ values: { n: '2' }, positionals: ['a', 'b', '--on'] });
  });
});

describe('flag value checks', () => {
  it('wholeNumber: digits within the range, else an error naming flag, range and value', () => {
    expect(wholeNumber('--threads', '12')).toBe(12);
    expect(wholeNumber('--steps', '0', 0)).toBe(0);
    expect(usageError(() => wholeNumber('--threads', '0'))).toBe('--threads must be a whole number >= 1, got "0"');
    expect(usageError(() => wholeNumber('--threads', 'abc'))).toBe('--threads must be a whole number >= 1, got "abc"');
    expect(usageError(() => wholeNumber('--threads', '1.5'))).toMatch(/got "1.5"/);
    expect(usageError(() => wholeNumber('--threads', ''))).toMatch(/got ""/);
    expect(usageError(() => wholeNumber('--steps', '-1', 0))).toBe('--steps must be a whole number >= 0, got "-1"');
    expect(usageError(() => wholeNumber('--w', '5000', 8, 4096))).toBe('--w must be a whole number from 8 to 4096, got "5000"');
  });

  it('positiveNumber: a finite number above 0', () => {
    expect(positiveNumber('--max-time', '0.25')).toBe(0.25);
    expect(positiveNumber('--max-time', '1e-3')).toBe(0.001);
    for (const bad of ['0', '-1', 'abc', '', 'Infinity', '1e999', '0x10']) {
      expect(usageError(() => positiveNumber('--max-time', bad))).toBe(`--max-time must be a number above 0, got ${JSON.stringify(bad)}`);
    }
  });

  it('oneOf and listOf name the flag, the choices and the bad item', () => {
    expect(oneOf('--variant', 'simd', ['simd', 'relaxed'])).toBe('simd');
    expect(usageError(() => oneOf('--variant', 'x', ['simd', 'relaxed']))).toBe('--variant must be one of simd, relaxed, got "x"');
    expect(listOf('--p', 'a,c', ['a', 'b', 'c'])).toEqual(['a', 'c']);
    expect(usageError(() => listOf('--p', 'a,z', ['a', 'b']))).toBe('--p takes a comma-separated list of a, b; "z" is not one (in "a,z")');
    expect(usageError(() => listOf('--p', '', ['a', 'b']))).toMatch(/"" is not one/);
  });

  it('path checks: existing file/folder, output file and folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parse-flags-'));
    const file = join(dir, 'f.txt');
    writeFileSync(file, 'x');
    expect(existingFile('--in', file)).toBe(file);
    expect(existingFolder('--dir', dir)).toBe(dir);
    expect(usageError(() => existingFile('--in', join(dir, 'none')))).toBe(`--in: file ${join(dir, 'none')} does not exist`);
    expect(usageError(() => existingFile('--in', dir))).toMatch(/is a folder, not a file/);
    expect(usageError(() => existingFolder('--dir', file))).toMatch(/is not a folder/);

    expect(outputFile('--out', join(dir, 'made', 'o.json'))).toBe(join(dir, 'made', 'o.json'));
    expect(existingFolder('--dir', join(dir, 'made'))).toBeTruthy();
    expect(usageError(() => outputFile('--out', join(file, 'o.json')))).toMatch(/^--out: cannot make the folder of .*o\.json/);
    expect(usageError(() => outputFile('--out', dir))).toMatch(/it is a folder/);
    expect(usageError(() => outputFile('--out', join(dir, 'none', 'o.png'), { makeFolder: false }))).toMatch(/folder .*none does not exist/);
    expect(outputFolder('--out', join(dir, 'a', 'b'))).toBe(join(dir, 'a', 'b'));
    expect(usageError(() => outputFolder('--out', file))).toMatch(/^--out: cannot make folder/);
    for (const check of [existingFile, existingFolder, outputFile, outputFolder]) expect(usageError(() => check('--p', ''))).toBe('--p needs a path, got ""');
  });

  it('fails (does not hang) where a parent folder cannot be made, as under /proc', () => {
    // Node 20's recursive mkdirSync loops forever on this path.
    expect(usageError(() => outputFolder('--out', '/proc/sd-tflite-missing/a/b'))).toMatch(/^--out: cannot make folder .*ENOENT/);
    expect(usageError(() => outputFile('--out', '/proc/sd-tflite-missing/a/o.png'))).toMatch(/^--out: cannot make the folder of .*ENOENT/);
  });
});
