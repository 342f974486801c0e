/**
 * The converter on the real SD v1.5 topology: converts the full-size random
 * checkpoint (dynamic sizes) and runs each component in our interpreter on
 * the inputs of bench/convert/compvis-reference.py, comparing with the
 * original CompVis modules' float64 outputs; CLIP and the VAE (small enough
 * for LiteRT.js's 4 GB WebAssembly memory) also run in LiteRT.js, pinned to
 * the inputs' size.
 *
 *   PYTHONPATH=<einops> /usr/bin/python3 bench/convert/compvis-reference.py /tmp/sd15-random.safetensors <CompVis checkout> /tmp/sd15-ref
 *   npm run build && node dist/bench/convert/full-size-vs-compvis.js [options; --help lists them]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLiteRt } from '../peers/litert.js';
import { existingFile, existingFolder, listOf, oneOf, parseFlags } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { readNpy, readNpyFloat32 } from '../../src/io/npy.js';
import { openCheckpoint } from '../../src/models/checkpoint/checkpoint.js';
import { COMPONENTS, type ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { SD15_CONFIG } from '../../src/models/config.js';
import { checkComponents, writeComponent } from '../../src/models/convert.js';
import { PRECISIONS, type Precision } from '../../src/models/graph/weights.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { outputErrors } from './errors.js';

function errors(got: ArrayLike<number>, ref: Float32Array): string {
  const e = outputErrors(got, ref);
  return `max|d|/max|ref| ${e.maxRel.toExponential(2)}, rel. L2 ${e.relL2.toExponential(2)}`;
}

const USAGE = `usage: node dist/bench/convert/full-size-vs-compvis.js [--ckpt FILE] [--ref DIR] [--precision ${PRECISIONS.join('|')}] [--components LIST]

  --ckpt FILE        random-weight SD v1.5 checkpoint (default /tmp/sd15-random.safetensors)
  --ref DIR          outputs of bench/convert/compvis-reference.py (default /tmp/sd15-ref)
  --precision P      ${PRECISIONS.join(', ')} (default fp32)
  --components LIST  some of ${COMPONENTS.join(', ')} (default: all)`;

runCli(async (argv) => {
  const values = parseFlags(argv, {
    ckpt: { type: 'string', default: '/tmp/sd15-random.safetensors' },
    ref: { type: 'string', default: '/tmp/sd15-ref' },
    precision: { type: 'string', default: 'fp32' },
    components: { type: 'string', default: 'clip,decoder,encoder,diffusion' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  existingFile('--ckpt', values.ckpt);
  existingFolder('--ref', values.ref);
  const precision: Precision = oneOf('--precision', values.precision, PRECISIONS);
  const components: ComponentName[] = listOf('--components', values.components, COMPONENTS);
  const f32 = (name: string) => readNpyFloat32(path.join(values.ref, `${name}.npy`)).data;
  const inputs: Record<ComponentName, { shapes: number[][]; data: () => (Float32Array | Int32Array)[]; ref: string }> = {
    clip: { shapes: [[1, 77]], data: () => [readNpy(path.join(values.ref, 'clip_tokens.npy')).data as Int32Array], ref: 'clip_out' },
    diffusion: { shapes: [[2, 4, 8, 8], [2, 77, 768], [1, 320]], data: () => [f32('unet_latent'), f32('unet_context'), f32('unet_temb')], ref: 'unet_out' },
    decoder: { shapes: [[1, 4, 8, 8]], data: () => [f32('dec_latent')], ref: 'dec_out' },
    encoder: { shapes: [[1, 3, 64, 64], [1, 4, 8, 8]], data: () => [f32('enc_image'), f32('enc_noise')], ref: 'enc_out' },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-full-vs-compvis-'));
  const checkpoint = openCheckpoint(values.ckpt, SD15_CONFIG);
  const weights = checkComponents(checkpoint, components, SD15_CONFIG);
  const rt = await loadLiteRt({ threads: 2 });
  try {
    for (const component of components) {
      const c = inputs[component];
      const file = path.join(dir, `${component}.tflite`);
      writeComponent(component, weights.get(component)!, file, { config: SD15_CONFIG, precision, target: 'cpu' });
      let t0 = performance.now();
      const interp = Interpreter.load(file, { threads: 2 });
      const runner = interp.getSignatureRunner();
      runner.inputNames.forEach((name, i) => runner.resizeInput(name, c.shapes[i]!));
      const data = c.data();
      const ours = runner.invoke(Object.fromEntries(runner.inputNames.map((n, i) => [n, data[i]!]))).output_0!.data as Float32Array;
      interp.close();
      console.log(`${component} ${precision}, our interpreter (${((performance.now() - t0) / 1000).toFixed(1)} s): ${errors(ours, f32(c.ref))}`);
      if (component !== 'diffusion') {
        const pinned = path.join(dir, `${component}-pinned.tflite`);
        writeComponent(component, weights.get(component)!, pinned, { config: SD15_CONFIG, precision, target: 'cpu', height: 64, width: 64 });
        t0 = performance.now();
        const model = await rt.loadModel(pinned);
        const theirs = (await model.run(data)).outputs[0]!.data as Float32Array;
        await model.dispose();
        console.log(`${component} ${precision}, LiteRT.js (${((performance.now() - t0) / 1000).toFixed(1)} s): ${errors(theirs, f32(c.ref))}`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
    }
  } finally {
    await rt.close();
    checkpoint.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
