import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDemoArgs, runDemo } from '../../src/cli/demo-command.js';
import { decodeImage } from '../../src/pipeline/image/decode.js';
import { textSink } from '../support/text-sink.js';

const work = mkdtempSync(join(tmpdir(), 'sd-demo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run demo', () => {
  it('makes a random checkpoint, converts it and writes an image, saying the weights are random', async () => {
    const args = parseDemoArgs(['--out', join(work, 'demo'), '--steps', '2', '--size', '64'])!;
    expect(args.tokenizer).toBeUndefined(); // generate's default: the bundled CLIP vocabulary
    const err = textSink();
    const out = textSink();
    const image = await runDemo(args, err, out);
    expect(out.text).toMatch(/^sd-tflite demo: the weights are RANDOM \(nothing is downloaded\), so the image will be noise-like\./);
    expect(out.text).toMatch(/1\/3 random checkpoint: .*random-tiny.safetensors \(979 tensors/);
    expect(out.text).toMatch(/Again: RANDOM weights, so a noise-like image is the expected result\./);
    for (const c of ['clip', 'diffusion', 'decoder', 'encoder']) expect(existsSync(join(work, 'demo', 'models', `${c}.tflite`))).toBe(true);
    const png = decodeImage(readFileSync(image), image);
    expect([png.width, png.height]).toEqual([64, 64]);
    // Random weights still give a varied image, not one flat colour.
    expect(new Set(png.data).size).toBeGreaterThan(50);
    expect(err.text).toMatch(/denoise \[#+\] 2\/2/);
  });

  it('rejects sizes the demo cannot run and unknown flags', () => {
    expect(() => parseDemoArgs(['--size', '100'])).toThrow(/--size must be a multiple of 64 from 64 to 1024, got 100/);
    expect(() => parseDemoArgs(['--steps', 'x'])).toThrow(/--steps must be a whole number/);
    expect(() => parseDemoArgs(['--nope'])).toThrow(/Unknown option '--nope'/);
    expect(parseDemoArgs(['--help'])).toBeUndefined();
  });
});
