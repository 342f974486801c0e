/** npm run convert: checkpoint → clip/diffusion/decoder/encoder .tflite (arguments in convert-args.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors.js';
import { openCheckpoint } from '../models/checkpoint/checkpoint.js';
import { withVae } from '../models/checkpoint/vae-override.js';
import { checkComponents, writeComponent } from '../models/convert.js';
import { LoraMerge } from '../models/lora/lora-merge.js';
import { CONVERT_USAGE, parseConvertArgs } from './convert-args.js';
import { outputFolder } from './parse-flags.js';
import { formatBytes, ProgressBar } from './progress.js';
import { runCli } from './run-cli.js';

function prepareOutDir(dir: string): void {
  outputFolder('--out', dir);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new UsageError(`cannot write to --out ${dir}: ${(err as Error).message}`);
  }
}

function main(argv: string[]): void {
  const args = parseConvertArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${CONVERT_USAGE}\n`);
    return;
  }
  const opened = openCheckpoint(args.ckpt, args.options.config);
  const checkpoint = args.vae === undefined ? opened : withVae(opened, args.vae, args.options.config);
  let loras: LoraMerge | undefined;
  try {
    // Every component's weights and every LoRA are checked before the first file is started.
    if (args.loras.length > 0) {
      loras = LoraMerge.open(args.loras, args.options.config);
      args.loras.forEach((l, i) => {
        const { unet, text_encoder } = loras!.layerCounts[i]!;
        process.stdout.write(`LoRA ${l.path} (multiplier ${l.multiplier}): ${unet} UNet and ${text_encoder} text-encoder layers\n`);
      });
      const patched = (part: 'unet' | 'text_encoder') => loras!.layerCounts.some((c) => c[part] > 0);
      if (!args.components.some((c) => (c === 'diffusion' && patched('unet')) || (c === 'clip' && patched('text_encoder')))) {
        process.stdout.write(`note: no --lora layer is in the components converted (${args.components.join(', ')}); LoRAs patch diffusion (UNet) and clip (text encoder)\n`);
      }
    }
    const weights = checkComponents(checkpoint, args.components, args.options.config, loras);
    prepareOutDir(args.out);
    for (const component of args.components) {
      const file = path.join(args.out, `${component}.tflite`);
      const started = performance.now();
      let bar: ProgressBar | undefined;
      let bytesDone = 0;
      let bytesTotal = 0;
      writeComponent(component, weights.get(component)!, file, args.options, {
        start(tensors, bytes) {
          bytesTotal = bytes;
          bar = new ProgressBar({
            label: `${component}.tflite`,
            total: tensors,
            unit: 'tensor',
            detail: () => `${formatBytes(bytesDone)} / ${formatBytes(bytesTotal)}`,
          });
        },
        written(_name, bytes) {
          bytesDone += bytes;
          bar!.tick();
        },
      });
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`wrote ${file} (${formatBytes(fs.statSync(file).size)}, ${args.options.precision}, ${args.options.target}) in ${seconds.toFixed(1)} s\n`);
    }
  } finally {
    loras?.close();
    checkpoint.close();
  }
}

runCli(main);
