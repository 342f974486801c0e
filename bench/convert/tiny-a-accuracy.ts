/**
 * How close files converted from tiny-a come to the outputs of the original
 * CompVis/OpenAI code, per component, precision and runtime: our
 * interpreter on the default (dynamic-size) files, LiteRT.js on files pinned
 * to the case's size (it runs static shapes only). Prints max|d|/max|ref|
 * and the relative L2 error of every golden case.
 *
 *   npm run build && node dist/bench/convert/tiny-a-accuracy.js
 */
import { loadLiteRt } from '../peers/litert.js';
import { parseFlags } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { readNpy, readNpyFloat32 } from '../../src/io/npy.js';
import { openCheckpoint } from '../../src/models/checkpoint/checkpoint.js';
import type { ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { loadModelConfig } from '../../src/models/config.js';
import { buildComponent, checkComponents } from '../../src/models/convert.js';
import type { Precision } from '../../src/models/graph/weights.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { outputErrors } from './errors.js';

const DIR = 'test/fixtures/tiny-a';
const f32 = (name: string) => readNpyFloat32(`${DIR}/${name}.npy`).data;

interface Case {
  name: string;
  component: ComponentName;
  /** Latent size h x w. */
  size: [number, number];
  inputs: () => Float32Array[] | Int32Array[];
  ref: () => Float32Array;
}

const tokens = () => readNpy(`${DIR}/clip_tokens.npy`).data as Int32Array;
const CASES: Case[] = [
  { name: 'clip (row 0)', component: 'clip', size: [8, 8], inputs: () => [tokens().slice(0, 77)], ref: () => f32('clip_out').slice(0, 77 * 32) },
  { name: 'clip (row 1, empty prompt)', component: 'clip', size: [8, 8], inputs: () => [tokens().slice(77)], ref: () => f32('clip_out').slice(77 * 32) },
  { name: 'unet', component: 'diffusion', size: [8, 8], inputs: () => [f32('unet_in_latent'), f32('unet_in_context'), f32('unet_in_temb')], ref: () => f32('unet_out') },
  { name: 'unet_nonsquare', component: 'diffusion', size: [8, 16], inputs: () => [f32('unet_nonsq_latent'), f32('unet_in_context'), f32('unet_nonsq_temb')], ref: () => f32('unet_nonsq_out') },
  { name: 'vae_decode', component: 'decoder', size: [8, 8], inputs: () => [f32('vae_dec_in_latent')], ref: () => f32('vae_dec_out') },
  { name: 'vae_decode_nonsquare', component: 'decoder', size: [8, 16], inputs: () => [f32('vae_dec_nonsq_latent')], ref: () => f32('vae_dec_nonsq_out') },
  { name: 'vae_encode', component: 'encoder', size: [8, 8], inputs: () => [f32('vae_enc_in_image'), f32('vae_enc_in_noise')], ref: () => f32('vae_enc_latent') },
];

function errors(got: ArrayLike<number>, ref: Float32Array): string {
  const e = outputErrors(got, ref);
  return `${e.maxRel.toExponential(2)} / ${e.relL2.toExponential(2)}`;
}

const USAGE = 'usage: node dist/bench/convert/tiny-a-accuracy.js (no options; run from the package root)';

runCli(async (argv) => {
  if (parseFlags(argv, { help: { type: 'boolean', short: 'h' } }, USAGE).help) {
    console.log(USAGE);
    return;
  }
  const config = loadModelConfig(`${DIR}/model-config.json`);
  const checkpoint = openCheckpoint(`${DIR}/tiny-a.safetensors`, config);
  const weights = checkComponents(checkpoint, ['clip', 'diffusion', 'decoder', 'encoder'], config);
  const rt = await loadLiteRt({ threads: 1 });
  console.log('case'.padEnd(28) + 'precision  ours (dynamic file)      LiteRT.js (pinned file)   [max|d|/max|ref| / rel. L2]');
  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    for (const c of CASES) {
      const build = (size?: [number, number]) =>
        buildComponent(c.component, weights.get(c.component)!, { config, precision, target: 'cpu', height: size && 8 * size[0], width: size && 8 * size[1] }).model.toBuffer();
      const interp = Interpreter.load(build());
      const runner = interp.getSignatureRunner();
      const inputs = c.inputs();
      runner.inputNames.forEach((name, i) => {
        const shapes: Record<string, number[]> = { diffusion: [2, 4, ...c.size], decoder: [1, 4, ...c.size], encoder: i === 0 ? [1, 3, 8 * c.size[0], 8 * c.size[1]] : [1, 4, ...c.size] };
        if (c.component !== 'clip' && !(c.component === 'diffusion' && i > 0)) runner.resizeInput(name, shapes[c.component]!);
      });
      const ours = runner.invoke(Object.fromEntries(runner.inputNames.map((n, i) => [n, inputs[i]!]))).output_0!.data;
      interp.close();
      const model = await rt.loadModel(build(c.size));
      const theirs = (await model.run(inputs)).outputs[0]!.data;
      await model.dispose();
      const ref = c.ref();
      console.log(`${c.name.padEnd(28)}${precision.padEnd(11)}${errors(ours as ArrayLike<number>, ref).padEnd(26)}${errors(theirs, ref)}`);
    }
  }
  await rt.close();
  checkpoint.close();
});
