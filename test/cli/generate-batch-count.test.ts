import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchFileName, parseGenerateArgs, runGenerate } from '../../src/cli/generate-command.js';
import { readNpy } from '../../src/io/npy.js';
import { textSink } from '../support/text-sink.js';
import { writeToyModels } from '../pipeline/pipeline-toy-models.js';

// --batch-count on the toy .tflite files (64x64, run by our interpreter):
// image k of a batch is the image a single run with --seed seed+k makes,
// byte for byte, and Ctrl-C (the signal runGenerate takes) keeps the images
// already written and leaves no partial file.
let work: string;
let models: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sd-batch-'));
  models = join(work, 'models');
  mkdirSync(models);
  writeToyModels(models);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(argv: string[], signal?: AbortSignal, onStdout?: (text: string) => void) {
  const parsed = parseGenerateArgs(['--models', models, '--width', '64', '--height', '64', '--steps', '3', '--prompt', 'a red cube', '--threads', '1', ...argv])!;
  const err = textSink();
  const out = textSink();
  if (onStdout) {
    const write = out.write;
    out.write = ((chunk: string) => (write(chunk), onStdout(out.text), true)) as typeof out.write;
  }
  const outcome = await runGenerate(parsed, err, out, signal);
  return { err: err.text, out: out.text, outcome, parsed };
}

/** The `seed` text chunk of a PNG. */
function pngSeed(png: Buffer): string | undefined {
  for (let pos = 8; pos < png.length; ) {
    const len = png.readUInt32BE(pos);
    const body = png.subarray(pos + 8, pos + 8 + len);
    if (png.toString('latin1', pos + 4, pos + 8) === 'tEXt' && body.toString('latin1', 0, body.indexOf(0)) === 'seed') return body.toString('latin1', body.indexOf(0) + 1);
    pos += 12 + len;
  }
  return undefined;
}

describe('--batch-count', () => {
  it('names each image by its seed; image k is byte-identical to a single run with --seed seed+k', async () => {
    const dir = join(work, 'batch');
    mkdirSync(dir);
    const batch = await run(['--seed', '41', '--batch-count', '3', '--sampler', 'k_euler_ancestral', '--output', join(dir, 'out.png'), '--save-latents', join(dir, 'lat.npy')]);
    expect(batch.outcome).toBe('finished');
    expect(readdirSync(dir).sort()).toEqual(['lat-41.npy', 'lat-42.npy', 'lat-43.npy', 'out-41.png', 'out-42.png', 'out-43.png']);
    expect(batch.err).toMatch(/^seeds 41 to 43\n/);
    expect(batch.out.split('\n').filter(Boolean)).toEqual([41, 42, 43].map((s) => `wrote ${join(dir, `out-${s}.png`)} (64x64, k_euler_ancestral, 3 steps, cfg 7.5, seed ${s})`));
    for (const k of [1, 2, 3]) expect(batch.err).toMatch(new RegExp(`image ${k}/3 denoise \\[#+\\] 3/3`));
    expect(batch.err).toMatch(/\n  denoise +\d.* \(3 images, 9 steps, .*\/step\)\n/);
    expect(batch.err).toMatch(/\n  per image +\d/);

    const pngs = [41, 42, 43].map((s) => readFileSync(join(dir, `out-${s}.png`)));
    expect(pngs.map(pngSeed)).toEqual(['41', '42', '43']);
    expect(pngs[0]!.equals(pngs[1]!)).toBe(false); // the seeds differ, so must the images
    for (const [k, seed] of [41, 42, 43].entries()) {
      const single = join(work, `single-${seed}.png`);
      const r = await run(['--seed', String(seed), '--sampler', 'k_euler_ancestral', '--output', single, '--save-latents', join(work, `single-${seed}.npy`)]);
      expect(r.err).toMatch(/denoise \[#+\] 3\/3/);
      expect(readFileSync(single).equals(pngs[k]!), `seed ${seed}`).toBe(true);
      expect(readNpy(join(dir, `lat-${seed}.npy`)).data).toEqual(readNpy(join(work, `single-${seed}.npy`)).data);
    }
  });

  it('without --seed: one random seed, then consecutive ones, each stored in its image', async () => {
    const dir = join(work, 'random');
    mkdirSync(dir);
    const r = await run(['--batch-count', '2', '--output', join(dir, 'pic.jpg')]);
    const first = Number(/^seeds (\d+) to \d+ \(random; pass --seed \1 to repeat\)\n/.exec(r.err)![1]);
    expect(r.err).toContain(`seeds ${first} to ${first + 1} `);
    expect(readdirSync(dir).sort()).toEqual([`pic-${first}.jpg`, `pic-${first + 1}.jpg`].sort());
    expect(r.parsed.options.seed).toBe(first);
  });

  it('batchFileName: the path itself for one image, else -<seed> before the extension', () => {
    expect(batchFileName('/a/out.png', 7, 1)).toBe('/a/out.png');
    expect(batchFileName('/a/out.png', 7, 2)).toBe('/a/out-7.png');
    expect(batchFileName('dir.v2/pic.final.jpeg', 4294967295, 3)).toBe('dir.v2/pic.final-4294967295.jpeg');
  });

  it('interrupted after the first image: that image stays, no partial or temporary file, one line saying so', async () => {
    const dir = join(work, 'interrupted');
    mkdirSync(dir);
    const stop = new AbortController();
    const r = await run(['--seed', '7', '--batch-count', '3', '--output', join(dir, 'out.png')], stop.signal, (text) => {
      if (text.includes('wrote')) stop.abort();
    });
    expect(r.outcome).toBe('interrupted');
    expect(readdirSync(dir)).toEqual(['out-7.png']);
    expect(r.err).toMatch(/\ninterrupted: stopped at a step boundary, 1 of 3 images written\n$/);
    expect(r.err).not.toMatch(/timings:/);

    const single = join(work, 'interrupted-single.png');
    const one = await run(['--seed', '7', '--output', single], AbortSignal.abort());
    expect(one.outcome).toBe('interrupted');
    expect(one.err).toMatch(/\ninterrupted: stopped at a step boundary, no image written\n$/);
    expect(existsSync(single)).toBe(false);
  });
});
