/**
 * The `e2e` benchmark suite (issue 7): full-size SD v1.5 (random weights)
 * at 512x512 on this machine, per precision.
 *
 * Options: USAGE below (`npm run bench -- e2e --help`).
 *
 * Makes (or reuses, under --work, default /tmp/sd-tflite-bench) the random
 * checkpoint (make-checkpoint --config sd15 --dtype fp32 --seed 1, 4.27 GB)
 * and its clip/diffusion/decoder conversions per precision; a `.done` file
 * marks a finished conversion. Then each precision runs in a fresh child
 * process (child.ts), so its peak RSS is its own: load time, text encoder,
 * --steps-to-time denoising steps (batch 2, i.e. with guidance, or with
 * --batch 1 the guidance-free step of --cfg 1 / LCM; the first includes
 * preparing), the decoder. A whole 20-step image is estimated as
 * 2 text encodings (1 at --batch 1) + 20 steps + the decoder unless --full measures it
 * through the pipeline. --profile prints (and keeps in the JSON) the last
 * timed step's time per op type and slowest operators. GFLOP/s of the step (batch x 803 GFLOP at 64x64) and
 * the decoder (2.5 TFLOP at 512x512) are set against the WebAssembly SIMD
 * peak measured in the same run. Prints a table; writes JSON (default
 * build/bench/e2e.json).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listOf, oneOf, outputFile, outputFolder, parseFlags, wholeNumber } from '../../src/cli/parse-flags.js';
import { SdError } from '../../src/errors.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { measurePeak, type Peak } from '../kernels/peak.js';
import type { E2eResult } from './child.js';
import { imageSize } from './options.js';

/** int8-compute: the int8 files run with hybrid int8 kernels (generate --int8-compute). */
const PRECISIONS = ['fp32', 'fp16', 'int8', 'int8-compute'] as const;
/** One UNet evaluation at a 64x64 latent, batch 1 (issue 7); a step runs batch 2. */
const UNET_GFLOP_64 = 803;
/** VAE decoder to 512x512. */
const DECODER_GFLOP_512 = 2500;
const STEPS = 20;

const here = dirname(fileURLToPath(import.meta.url));
const CLI = (name: string) => resolve(here, '../../src/cli', `${name}.js`);
const TOKENIZER = resolve(here, '../../../assets/clip-tokenizer');

function progress(text: string): void {
  process.stderr.write(`[e2e] ${text}\n`);
}

function runNode(script: string, args: string[], what: string): void {
  const t = performance.now();
  const child = spawnSync(process.execPath, [script, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  // The child has printed its own error above.
  if (child.status !== 0) throw new SdError(`${what} failed (exit ${child.status ?? child.signal})`);
  progress(`${what}: ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

/** The checkpoint and the converted files of `precision`, made unless already there. */
function ensureModels(work: string, precision: string): string {
  const ckpt = join(work, 'sd15-fp32-seed1.safetensors');
  if (!existsSync(ckpt)) {
    progress(`making the random SD v1.5 checkpoint ${ckpt} (4.27 GB, about a minute)`);
    runNode(CLI('make-checkpoint'), ['--config', 'sd15', '--dtype', 'fp32', '--seed', '1', '--out', ckpt], 'make-checkpoint');
  }
  const dir = join(work, precision);
  if (!existsSync(join(dir, '.done'))) {
    progress(`converting to ${precision} in ${dir}`);
    runNode(CLI('convert'), ['--ckpt', ckpt, '--out', dir, '--precision', precision, '--components', 'clip,diffusion,decoder'], `convert ${precision}`);
    writeFileSync(join(dir, '.done'), '');
  }
  return dir;
}

interface Row extends E2eResult {
  precision: string;
  /** Whole image: measured (--full) or estimated. */
  imageSeconds: number;
  imageMeasured: boolean;
  /** Null when no step was timed (--steps-to-time 0). */
  stepGflops: number | null;
  decoderGflops: number | null;
}

function gflopsOfStep(r: E2eResult): number | null {
  if (r.stepSeconds.length === 0) return null;
  const scale = (r.width * r.height) / (512 * 512);
  return (r.batch * UNET_GFLOP_64 * scale) / r.stepSecondsTypical;
}

/** fp32's step time over each other precision's, from the same run (empty without a timed fp32 step). */
function stepSpeedupsOverFp32(rows: Row[]): Record<string, number> {
  const fp32 = rows.find((r) => r.precision === 'fp32' && r.stepSeconds.length > 0);
  if (!fp32) return {};
  return Object.fromEntries(rows.filter((r) => r !== fp32 && r.stepSeconds.length > 0).map((r) => [r.precision, fp32.stepSecondsTypical / r.stepSecondsTypical]));
}

function printTable(rows: Row[], peaks: Record<string, Peak>, variant: KernelVariant, batch: number): void {
  const peak = peaks[variant]!.gflops;
  const header = ['precision', 'load s', 'text enc ms', 'step s', 'step GFLOP/s', '% peak', 'decoder s', 'dec GFLOP/s', 'image s (20 steps)', 'peak RSS GB', 'wasm mem GB'];
  const cells = rows.map((r) => [
    r.precision,
    r.loadSeconds.toFixed(1),
    r.textEncoderMs.toFixed(0),
    r.stepGflops === null ? '—' : `${r.stepSecondsTypical.toFixed(1)}${r.stepSeconds.length > 1 ? '' : '*'}`,
    r.stepGflops === null ? '—' : r.stepGflops.toFixed(1),
    r.stepGflops === null ? '—' : ((100 * r.stepGflops) / peak).toFixed(0),
    r.decoderSeconds === null ? '—' : r.decoderSeconds.toFixed(1),
    r.decoderGflops === null ? '—' : r.decoderGflops.toFixed(1),
    `${r.imageSeconds.toFixed(0)} ${r.imageMeasured ? 'measured' : 'estimated'}`,
    (r.peakRssBytes / 1e9).toFixed(2),
    (r.wasmMemoryBytes / 1e9).toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}`);
  for (const c of cells) console.log(line(c));
  console.log(`WebAssembly SIMD peak in this run: ${Object.entries(peaks).map(([v, p]) => `${v} ${p.gflops.toFixed(1)} GFLOP/s`).join(', ')}; % peak is of ${variant} (the variant the models ran on).`);
  const guidance = batch === 2 ? 'with guidance' : 'without guidance (--cfg 1, LCM)';
  console.log(`step: median of the timed steps after the first (* = only one step timed, includes preparing and weight packing); batch ${batch} at the latent size, ${guidance}.`);
  console.log(`image estimated = ${batch} text encoding${batch === 1 ? '' : 's'} + ${STEPS} steps + decoder (load time not included).`);
}

const USAGE = `usage: npm run bench -- e2e [--work DIR] [--precisions ${PRECISIONS.join(',')}] [--steps-to-time N]
                            [--skip-decoder] [--full] [--threads N] [--variant simd|relaxed]
                            [--width W --height H] [--batch 1|2] [--profile] [--out FILE]

  --work DIR          checkpoint and converted files, made once and reused
                      (default /tmp/sd-tflite-bench)
  --precisions LIST   some of ${PRECISIONS.join(', ')} (default: all)
  --steps-to-time N   denoising steps to time, 0 for none (default 2)
  --batch N           UNet batch per step: 2 (default: with guidance) or 1 (without,
                      as --cfg 1 / LCM run it; needs files converted with a dynamic batch)
  --skip-decoder      do not time the decoder
  --full              also time a whole 20-step image through the pipeline
  --threads N         kernel threads (default 2)
  --variant V         simd or relaxed (default relaxed)
  --width W --height H  image size in pixels, multiples of 8 (default 512x512)
  --profile           time per op type and slowest operators of the last timed step
  --out FILE          JSON results (default build/bench/e2e.json)`;

export async function run(args: string[]): Promise<void> {
  const values = parseFlags(args, {
    work: { type: 'string', default: '/tmp/sd-tflite-bench' },
    precisions: { type: 'string' },
    'steps-to-time': { type: 'string', default: '2' },
    batch: { type: 'string', default: '2' },
    'skip-decoder': { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'relaxed' },
    width: { type: 'string', default: '512' },
    height: { type: 'string', default: '512' },
    out: { type: 'string', default: 'build/bench/e2e.json' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const precisions = values.precisions === undefined ? PRECISIONS : listOf('--precisions', values.precisions, PRECISIONS);
  const variant: KernelVariant = oneOf('--variant', values.variant, ['simd', 'relaxed']);
  const threads = wholeNumber('--threads', values.threads);
  // Checked here, not only in the child, so a bad value fails before the checkpoint and conversions are made.
  wholeNumber('--steps-to-time', values['steps-to-time'], 0);
  wholeNumber('--batch', values.batch, 1, 2);
  imageSize('--width', values.width);
  imageSize('--height', values.height);
  outputFolder('--work', values.work);
  outputFile('--out', values.out);
  const load = loadavg();
  progress(`load average ${load.map((x) => x.toFixed(2)).join(' ')} (shared machine: wall times include waiting for a core)`);

  enableRelaxedSimd();
  const peaks: Record<string, Peak> = {};
  for (const v of ['simd', 'relaxed'] as const) {
    const rt = await createKernelRuntime({ threads, variant: v });
    peaks[v] = measurePeak(rt, 1);
    await rt.close();
    progress(`SIMD peak (${v}, ${threads} threads): ${peaks[v]!.gflops.toFixed(1)} GFLOP/s`);
  }

  const rows: Row[] = [];
  for (const precision of precisions) {
    const models = ensureModels(values.work, precision === 'int8-compute' ? 'int8' : precision);
    const out = join(values.work, `result-${precision}.json`);
    const childArgs = [
      '--models', models, '--out', out, '--label', precision, '--threads', String(threads), '--variant', variant,
      '--steps-to-time', values['steps-to-time'], '--batch', values.batch, '--width', values.width, '--height', values.height,
      ...(values['skip-decoder'] ? ['--skip-decoder'] : []), ...(values.full ? ['--full', TOKENIZER] : []),
      ...(values.profile ? ['--profile'] : []), ...(precision === 'int8-compute' ? ['--int8-compute'] : []),
    ];
    progress(`${precision}: running in a fresh process`);
    runNode(join(here, 'child.js'), childArgs, `${precision} run`);
    const r = JSON.parse(readFileSync(out, 'utf8')) as E2eResult;
    const pixels = (r.width * r.height) / (512 * 512);
    const estimate = (r.batch * r.textEncoderMs) / 1000 + STEPS * r.stepSecondsTypical + (r.decoderSeconds ?? 0); // one text encoding per batch item
    rows.push({
      ...r, precision,
      imageSeconds: r.fullImageSeconds ?? estimate, imageMeasured: r.fullImageSeconds !== null,
      stepGflops: gflopsOfStep(r), decoderGflops: r.decoderSeconds === null ? null : (DECODER_GFLOP_512 * pixels) / r.decoderSeconds,
    });
  }
  printTable(rows, peaks, variant, Number(values.batch));
  const speedups = stepSpeedupsOverFp32(rows);
  for (const [precision, x] of Object.entries(speedups)) console.log(`${precision} step: ${x.toFixed(2)}x the fp32 step's speed in this run${precision === 'int8-compute' ? ' (issue 7 asks >= 1.6x)' : ''}`);
  const json = { loadAverage: load, threads, variant, peaks, unetGflop64: UNET_GFLOP_64, decoderGflop512: DECODER_GFLOP_512, rows, stepSpeedupOverFp32: speedups };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(`${values.out}.tmp`, JSON.stringify(json, null, 2));
  renameSync(`${values.out}.tmp`, values.out);
  console.log(`wrote ${values.out}`);
}
