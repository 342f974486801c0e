import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGenerateArgs, runGenerate } from '../../src/cli/generate-command.js';
import { SdError, UsageError } from '../../src/errors.js';
import { readNpy } from '../../src/io/npy.js';
import { decodeImage } from '../../src/pipeline/image/decode.js';
import { encodePng } from '../../src/pipeline/image/encode.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { ROOT, runTs } from '../support/run-cli.js';
import { textSink } from '../support/text-sink.js';
import { writeToyModels } from './pipeline-toy-models.js';

const TOKENIZER = join(ROOT, 'assets', 'clip-tokenizer');
let work: string;
let models: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sd-generate-'));
  models = join(work, 'models');
  mkdirSync(models);
  writeToyModels(models);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => runTs('src/cli/generate.ts', args);

/** Text chunks (tEXt and iTXt) of a PNG, read straight from its bytes. */
function pngText(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let pos = 8; pos < png.length; ) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const body = png.subarray(pos + 8, pos + 8 + len);
    const nul = body.indexOf(0);
    if (type === 'tEXt') out[body.toString('latin1', 0, nul)] = body.toString('latin1', nul + 1);
    if (type === 'iTXt') {
      expect(body[nul + 1]).toBe(0); // not compressed
      let p = body.indexOf(0, nul + 3) + 1; // language tag
      p = body.indexOf(0, p) + 1; // translated keyword
      out[body.toString('latin1', 0, nul)] = body.toString('utf8', p);
    }
    pos += 12 + len;
  }
  return out;
}

function args(...extra: string[]): string[] {
  return ['--models', models, '--tokenizer', TOKENIZER, '--width', '64', '--height', '64', '--steps', '3', ...extra];
}

/** Files left in `dir` whose names show an unfinished write. */
function tempFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.includes('.tmp-'));
}

describe.concurrent('npm run generate (as a process)', () => {
  it('writes a PNG with its parameters, progress and timings; same bytes again and with --threads 1 vs 2', async () => {
    const out = (name: string) => join(work, name);
    const common = ['--prompt', 'a red cube', '--negative-prompt', 'blurry', '--seed', '42', '--sampler', 'k_euler_ancestral'];
    const [a, b, c] = await Promise.all([
      cli(...args(...common, '--output', out('p1.png'), '--threads', '1', '--save-latents', out('p1.npy'))),
      // No --tokenizer: the bundled vocabulary (the same files) is the default.
      cli(...args(...common, '--output', out('p2.png'), '--threads', '1').filter((x, i, all) => x !== '--tokenizer' && all[i - 1] !== '--tokenizer')),
      cli(...args(...common, '--output', out('p3.png'), '--threads', '2')),
    ]);
    for (const r of [a, b, c]) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^wrote .*p\d\.png \(64x64, k_euler_ancestral, 3 steps, cfg 7\.5, seed 42\)\n$/);
    }
    expect(a.stderr).toMatch(/^seed 42\n/);
    expect(a.stderr).toMatch(/denoise \[#+\] 3\/3 +\d+ ms\/step +elapsed 0:00 +ETA 0:00/);
    for (const stage of ['load models', 'prepare', 'tokenize', 'text encoder', 'denoise', 'decode', 'write', 'total']) expect(a.stderr).toMatch(new RegExp(`\\n  ${stage} +\\d`));
    const png = readFileSync(out('p1.png'));
    expect(readFileSync(out('p2.png')).equals(png)).toBe(true);
    expect(readFileSync(out('p3.png')).equals(png)).toBe(true);

    // The CLI is a thin layer: the library gives the same pixels and latents.
    const sd = await StableDiffusion.load({ models, tokenizer: TOKENIZER });
    const lib = await sd.generate({ prompt: 'a red cube', negativePrompt: 'blurry', seed: 42, sampler: 'k_euler_ancestral', steps: 3, width: 64, height: 64 });
    await sd.close();
    expect(decodeImage(png, 'p1.png').data).toEqual(lib.image.data);
    const latents = readNpy(out('p1.npy'));
    expect(latents.shape).toEqual([1, 4, 8, 8]);
    expect(latents.data).toEqual(lib.latents);

    expect(pngText(png)).toEqual({
      prompt: 'a red cube',
      negative_prompt: 'blurry',
      seed: '42',
      steps: '3',
      sampler: 'k_euler_ancestral',
      cfg: '7.5',
      size: '64x64',
      tokenizer_mode: 'hf',
      emphasis: 'off',
      parameters: 'a red cube\nNegative prompt: blurry\nSteps: 3, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 64x64, Software: sd-tflite',
      Software: 'sd-tflite',
    });
  });

  it('a bad argument: one-line error, exit 2, no output file', async () => {
    const r = await cli(...args('--prompt', 'x', '--steps', '0', '--output', join(work, 'bad.png')));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('error: --steps must be a whole number >= 1, got 0\n');
    expect(existsSync(join(work, 'bad.png'))).toBe(false);
  });
});

describe('generate: argument checks before anything is loaded', () => {
  const cases: [string[], RegExp][] = [
    // Messages name the flag as typed (the library's own names are checked in pipeline-api.test.ts).
    [['--steps', '0'], /^--steps must be a whole number >= 1, got 0$/],
    [['--steps', '1001'], /^--steps must be at most 1000, got 1001$/],
    [['--steps', 'ten'], /--steps must be a whole number, got "ten"/],
    [['--sampler', 'euler'], /^--sampler must be one of k_euler, k_euler_ancestral, k_lms, ddim, dpmpp_2m, lcm, got "euler"$/],
    [['--width', '100'], /^--width must be a multiple of 8 from 8 to 4096, got 100$/],
    [['--height', '4104'], /^--height must be a multiple of 8 from 8 to 4096, got 4104$/],
    [['--cfg', '7,5'], /--cfg must be a number, got "7,5"/],
    [['--cfg', '1e999'], /^--cfg must be a finite number, got Infinity$/],
    [['--seed=-3'], /--seed must be a whole number, got "-3"/],
    [['--seed', '4294967296'], /^--seed must be a whole number from 0 to 4294967295, got 4294967296$/],
    [['--init-image', 'x.png', '--strength', '1.5'], /^--strength must be in \(0, 1\], got 1.5$/],
    [['--init-image', 'x.png', '--strength', '0'], /^--strength must be in \(0, 1\], got 0$/],
    [['--init-image', 'x.png', '--strength', '0.1', '--steps', '5'], /^--strength 0.1 with --steps 5 runs no denoising step/],
    [['--strength', '0.5'], /--strength needs --init-image/],
    [['--tokenizer-mode', 'python'], /^--tokenizer-mode must be one of hf, seed, got "python"$/],
    [['--batch-count', '0'], /^--batch-count must be from 1 to 4294967296, got 0$/],
    [['--batch-count', 'two'], /^--batch-count must be a whole number, got "two"$/],
    [['--seed', '4294967295', '--batch-count', '2'], /^--seed 4294967295 with --batch-count 2 runs past the largest seed, 4294967295$/],
    [['--quality', '80'], /--quality applies to JPEG output/],
    [['--threads', '0'], /--threads must be at least 1/],
    [['--save-latents', 'lat.bin'], /--save-latents must name a .npy file/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [extra, message] of cases) {
    it(`${extra.join(' ')}`, () => {
      expect(() => parseGenerateArgs(args('--prompt', 'x', '--output', join(work, 'o.png'), ...extra))).toThrow(message);
    });
  }

  it('output name, quality and folder', () => {
    expect(() => parseGenerateArgs(args('--prompt', 'x', '--output', join(work, 'o.gif')))).toThrow(/--output must end in .png, .jpg or .jpeg/);
    expect(() => parseGenerateArgs(args('--prompt', 'x', '--output', join(work, 'o.jpg'), '--quality', '101'))).toThrow(/--quality must be from 1 to 100/);
    expect(() => parseGenerateArgs(args('--prompt', 'x', '--output', join(work, 'nope', 'o.png')))).toThrow(/folder .*nope does not exist/);
    expect(() => parseGenerateArgs(args('--prompt', 'x'))).toThrow(/--output is required/);
    expect(() => parseGenerateArgs(args('--output', join(work, 'o.png')))).toThrow(/--prompt is required/);
    expect(parseGenerateArgs(args('--prompt', 'x', '--output', join(work, 'o.jpeg')))).toMatchObject({ format: 'jpeg', quality: 90, seedWasRandom: true });
    expect(parseGenerateArgs(['--help'])).toBeUndefined();
  });
});

describe('generate: runs in process', () => {
  async function run(...extra: string[]) {
    const parsed = parseGenerateArgs(args(...extra))!;
    const err = textSink();
    const out = textSink();
    await runGenerate(parsed, err, out);
    return { err: err.text, out: out.text, parsed };
  }

  it('without --seed: picks one, prints it and stores it in the PNG', async () => {
    const file = join(work, 'random.png');
    const r = await run('--prompt', 'x', '--output', file);
    const seed = /^seed (\d+) \(random; pass --seed \1 to repeat\)\n/.exec(r.err)![1]!;
    expect(pngText(readFileSync(file)).seed).toBe(seed);
    expect(r.out).toContain(`seed ${seed})`);
  });

  it('JPEG with --quality; a non-Latin-1 prompt goes into an iTXt chunk', async () => {
    const low = join(work, 'q10.jpg');
    const high = join(work, 'q95.jpg');
    await run('--prompt', 'x', '--seed', '1', '--output', low, '--quality', '10');
    await run('--prompt', 'x', '--seed', '1', '--output', high, '--quality', '95');
    const a = readFileSync(low);
    expect([...a.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(decodeImage(a, low).width).toBe(64);
    expect(a.length).toBeLessThan(readFileSync(high).length);

    const png = join(work, 'cat.png');
    await run('--prompt', 'ein Kätzchen 🐱', '--seed', '1', '--output', png);
    expect(pngText(readFileSync(png)).prompt).toBe('ein Kätzchen 🐱');
  });

  it('img2img from a PNG; strength changes the image', async () => {
    const init = join(work, 'init.png');
    const img = { width: 40, height: 30, data: Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7) % 256) };
    writeFileSync(init, encodePng(img));
    const a = join(work, 'i2i-a.png');
    const b = join(work, 'i2i-b.png');
    const r = await run('--prompt', 'x', '--seed', '5', '--init-image', init, '--strength', '0.5', '--steps', '4', '--output', a);
    await run('--prompt', 'x', '--seed', '5', '--init-image', init, '--strength', '1', '--steps', '4', '--output', b);
    expect(r.err).toMatch(/denoise \[#+\] 2\/2/);
    expect(r.err).toMatch(/\n  image encoder +\d/);
    expect(pngText(readFileSync(a))).toMatchObject({ strength: '0.5', steps: '4' });
    expect(readFileSync(a).equals(readFileSync(b))).toBe(false);
  });

  async function failure(extra: string[], output: string) {
    let error: unknown;
    try {
      await run('--prompt', 'x', '--seed', '1', '--output', output, ...extra);
    } catch (e) {
      error = e;
    }
    expect(existsSync(output)).toBe(false);
    expect(tempFiles(work)).toEqual([]);
    return error as Error;
  }

  it('files and sizes the models cannot take: clear errors, no output', async () => {
    const out = join(work, 'never.png');
    const sizeErr = await failure(['--width', '128'], out);
    expect(sizeErr).toBeInstanceOf(UsageError);
    expect(sizeErr.message).toMatch(/diffusion.tflite was converted for 64x64 only; 128x64 needs/);

    const unreadable = await failure(['--init-image', join(work, 'missing.png')], out);
    expect(unreadable.message).toMatch(/missing.png: cannot read image \(ENOENT\)/);
    const notImage = join(work, 'not-an-image.png');
    writeFileSync(notImage, 'hello');
    expect((await failure(['--init-image', notImage], out)).message).toMatch(/not a PNG or JPEG file/);

    const noModels = await failure(['--models', join(work, 'none')], out);
    expect(noModels.message).toMatch(/^--models: folder .*none does not exist$/);
    const modelsFile = join(work, 'models-file.txt');
    writeFileSync(modelsFile, 'not a folder');
    expect((await failure(['--models', modelsFile], out)).message).toMatch(/^--models: .*models-file\.txt is not a folder$/);

    const partial = join(work, 'partial');
    mkdirSync(partial);
    copyFileSync(join(models, 'clip.tflite'), join(partial, 'clip.tflite'));
    copyFileSync(join(models, 'diffusion.tflite'), join(partial, 'diffusion.tflite'));
    expect((await failure(['--models', partial], out)).message).toMatch(/partial has no decoder.tflite/);
    expect((await failure(['--models', partial, '--init-image', join(work, 'init.png')], out)).message).toMatch(/partial has no decoder.tflite/);

    // A mixed-up file: clip.tflite where decoder.tflite should be.
    copyFileSync(join(models, 'clip.tflite'), join(partial, 'decoder.tflite'));
    const wrong = await failure(['--models', partial], out);
    expect(wrong).toBeInstanceOf(SdError);
    expect(wrong.message).toMatch(/decoder.tflite: no signature 'decode' \(signatures: encode\); is this the right file\?/);

    // Garbage in a model file.
    writeFileSync(join(partial, 'decoder.tflite'), Buffer.alloc(100, 7));
    expect((await failure(['--models', partial], out)).message).toMatch(/decoder.tflite/);

    // No encoder.tflite: txt2img works, img2img says what is missing.
    copyFileSync(join(models, 'decoder.tflite'), join(partial, 'decoder.tflite'));
    const noEnc = await failure(['--models', partial, '--init-image', join(work, 'init.png')], out);
    expect(noEnc.message).toMatch(/img2img needs encoder.tflite/);
    await run('--prompt', 'x', '--seed', '1', '--models', partial, '--output', out);
    expect(existsSync(out)).toBe(true);
    rmSync(out);

    // A broken encoder.tflite is opened only for img2img.
    writeFileSync(join(partial, 'encoder.tflite'), Buffer.alloc(64, 1));
    expect((await failure(['--models', partial, '--init-image', join(work, 'init.png')], out)).message).toMatch(/encoder.tflite/);
    await run('--prompt', 'x', '--seed', '1', '--models', partial, '--output', out);
    expect(existsSync(out)).toBe(true);
  });
});
