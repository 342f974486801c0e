/**
 * The pipeline's components as .tflite files run by our interpreter, with the
 * signatures of DESIGN.md (also what the reference converter writes):
 * clip.tflite `encode`, diffusion.tflite `diffusion`, decoder.tflite
 * `decode`, encoder.tflite `encode`; inputs args_0, args_1, ... output
 * output_0. Every signature is checked at load against the contract, so a
 * wrong or mixed-up file fails with a message naming it.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FormatError, SdError, UsageError } from '../errors.js';
import { packedGemmBytes } from '../kernels/wasm/gemm-pack.js';
import { setUpKernels } from '../kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../kernels/wasm/runtime.js';
import { Interpreter, type InterpreterOptions } from '../tflite/interpreter/interpreter.js';
import { SharedActivationRegion } from '../tflite/interpreter/tensor-arena.js';
import { TfliteFile } from '../tflite/reader.js';
import { wasmInterpreterOptions, type WasmKernelOptions } from '../tflite/ops/wasm/index.js';
import { constantWeightLayers, gateResidentWeights, planResidentWeights, residentCandidates, residentKey, type ResidentCandidate } from '../tflite/ops/wasm/resident-weights.js';
import type { SignatureRunner, TensorDetails } from '../tflite/interpreter/signature-runner.js';
import type { Decoder, Denoiser, ImageEncoder, LatentSize, LatentSizeRule, PipelineComponents, TextEncoder } from './components.js';
import { VAE_SCALE } from './components.js';
import { DYNAMIC_UNET_MULTIPLE } from './latent-size.js';
import { TiledDecoder } from './tiled-decode.js';
import { CONTEXT_LENGTH } from './tokenizer/clip-tokenizer.js';

export const MODEL_FILES = { clip: 'clip.tflite', diffusion: 'diffusion.tflite', decoder: 'decoder.tflite', encoder: 'encoder.tflite' } as const;

/** One signature of a loaded file, with its inputs checked by name. */
class Entry {
  readonly runner: SignatureRunner;
  readonly inputs: TensorDetails[];
  readonly output: string;

  constructor(
    interpreter: Interpreter,
    readonly file: string,
    key: string,
    inputCount: number,
  ) {
    if (!interpreter.signatureKeys.includes(key)) {
      const have = interpreter.signatureKeys.length ? interpreter.signatureKeys.join(', ') : 'none';
      throw new FormatError(file, `no signature '${key}' (signatures: ${have}); is this the right file?`);
    }
    this.runner = interpreter.getSignatureRunner(key);
    const details = this.runner.inputDetails();
    this.inputs = [];
    for (let i = 0; i < inputCount; i++) {
      const d = details.find((x) => x.name === `args_${i}`);
      if (!d) throw new FormatError(file, `signature '${key}' has no input args_${i} (inputs: ${details.map((x) => x.name).join(', ')})`);
      this.inputs.push(d);
    }
    if (details.length !== inputCount) {
      throw new FormatError(file, `signature '${key}' has ${details.length} inputs, expected ${inputCount}`);
    }
    const outputs = this.runner.outputNames;
    this.output = outputs.includes('output_0') ? 'output_0' : outputs.length === 1 ? outputs[0]! : '';
    if (!this.output) throw new FormatError(file, `signature '${key}' has no output output_0 (outputs: ${outputs.join(', ')})`);
  }

  /** Checks input i's dtype, rank and the dims given (undefined = any); returns its shape. */
  expect(i: number, dtype: string, dims: (number | undefined)[]): number[] {
    const d = this.inputs[i]!;
    const ok = d.dtype === dtype && d.shape.length === dims.length && dims.every((n, k) => n === undefined || d.shape[k] === n);
    if (!ok) {
      const want = dims.map((n) => (n === undefined ? '?' : String(n))).join(', ');
      throw new FormatError(this.file, `input ${d.name} is ${d.dtype} [${d.shape.join(', ')}], expected ${dtype} [${want}]`);
    }
    return d.shape;
  }

  /**
   * Whether input i's batch dim (dim 0) is dynamic (shape signature -1);
   * when fixed, it must be `fixed`.
   */
  dynamicBatch(i: number, fixed: number): boolean {
    const d = this.inputs[i]!;
    if ((d.shapeSignature ?? d.shape)[0] === -1) return true;
    if (d.shape[0] !== fixed) {
      throw new FormatError(this.file, `input ${d.name} is [${d.shape.join(', ')}], expected batch ${fixed} (or a dynamic batch)`);
    }
    return false;
  }

  /** Spatial dims 2 and 3 of input i: resizable when stored as -1. */
  sizeRule(i: number, multiple: number, scale: number): LatentSizeRule {
    const d = this.inputs[i]!;
    const sig = d.shapeSignature ?? d.shape;
    if (sig[2] === -1 || sig[3] === -1) return { kind: 'multiple', multiple };
    return { kind: 'fixed', height: d.shape[2]! / scale, width: d.shape[3]! / scale };
  }

  /** Resizes the spatial dims of the given inputs and checks the graph accepts them. */
  resize(shapes: Record<string, number[]>, what: string): void {
    try {
      for (const [name, shape] of Object.entries(shapes)) {
        const current = this.inputs.find((d) => d.name === name)!;
        if (current.shape.join() === shape.join()) continue;
        this.runner.resizeInput(name, shape);
        current.shape = shape;
      }
      this.runner.outputDetails();
    } catch (err) {
      if (err instanceof SdError) throw new UsageError(`${this.file} cannot take ${what}: ${err.message}`);
      throw err;
    }
  }

  invoke(inputs: Record<string, Float32Array | Int32Array>): Float32Array {
    const out = this.runner.invoke(inputs)[this.output]!;
    if (!(out.data instanceof Float32Array)) throw new FormatError(this.file, `output ${this.output} is ${out.dtype}, expected float32`);
    return out.data;
  }
}

function sizeText(size: LatentSize): string {
  return `${size.width * VAE_SCALE}x${size.height * VAE_SCALE}`;
}

class TfliteTextEncoder implements TextEncoder {
  readonly hiddenSize: number;
  constructor(private readonly entry: Entry) {
    entry.expect(0, 'int32', [1, CONTEXT_LENGTH]);
    const out = entry.runner.outputDetails().find((d) => d.name === entry.output)!;
    if (out.shape.length !== 3 || out.shape[0] !== 1 || out.shape[1] !== CONTEXT_LENGTH) {
      throw new FormatError(entry.file, `output ${out.name} is [${out.shape.join(', ')}], expected [1, ${CONTEXT_LENGTH}, hidden size]`);
    }
    this.hiddenSize = out.shape[2]!;
  }

  run(tokens: Int32Array): Float32Array {
    return this.entry.invoke({ args_0: tokens });
  }
}

/**
 * The UNet. Its latents and context have batch 2 ([cond, uncond]), fixed,
 * or dynamic (shape signature -1 in both, stored as 1 or 2): then it also
 * runs batch 1, for steps without guidance.
 */
class TfliteDenoiser implements Denoiser {
  readonly latentChannels: number;
  readonly contextWidth: number;
  readonly timeEmbeddingWidth: number;
  readonly sizeRule: LatentSizeRule;
  readonly acceptsBatchOfOne: boolean;

  constructor(private readonly entry: Entry) {
    this.latentChannels = entry.expect(0, 'float32', [undefined, undefined, undefined, undefined])[1]!;
    this.contextWidth = entry.expect(1, 'float32', [undefined, CONTEXT_LENGTH, undefined])[2]!;
    this.timeEmbeddingWidth = entry.expect(2, 'float32', [1, undefined])[1]!;
    this.sizeRule = entry.sizeRule(0, DYNAMIC_UNET_MULTIPLE, 1);
    const dynamic = [0, 1].map((i) => entry.dynamicBatch(i, 2));
    if (dynamic[0] !== dynamic[1]) {
      throw new FormatError(entry.file, `inputs args_0 and args_1 must both have a dynamic batch dim or neither (args_0 ${dynamic[0] ? 'dynamic' : 'fixed'}, args_1 ${dynamic[1] ? 'dynamic' : 'fixed'})`);
    }
    this.acceptsBatchOfOne = dynamic[0]!;
  }

  prepare(size: LatentSize, batch = 2): void {
    if (batch !== 2 && !(batch === 1 && this.acceptsBatchOfOne)) {
      throw new Error(`${this.entry.file}: cannot run a batch of ${batch}`);
    }
    const shapes = {
      args_0: [batch, this.latentChannels, size.height, size.width],
      args_1: [batch, CONTEXT_LENGTH, this.contextWidth],
    };
    this.entry.resize(shapes, batch === 2 ? sizeText(size) : `${sizeText(size)} at batch ${batch}`);
  }

  run(latents: Float32Array, context: Float32Array, timeEmbedding: Float32Array, size: LatentSize): Float32Array {
    this.prepare(size, latents.length / (this.latentChannels * size.height * size.width));
    return this.entry.invoke({ args_0: latents, args_1: context, args_2: timeEmbedding });
  }
}

class TfliteDecoder implements Decoder {
  readonly latentChannels: number;
  readonly sizeRule: LatentSizeRule;

  constructor(private readonly entry: Entry) {
    this.latentChannels = entry.expect(0, 'float32', [1, undefined, undefined, undefined])[1]!;
    this.sizeRule = entry.sizeRule(0, 1, 1);
  }

  prepare(size: LatentSize): void {
    this.entry.resize({ args_0: [1, this.latentChannels, size.height, size.width] }, sizeText(size));
  }

  run(latents: Float32Array, size: LatentSize): Float32Array {
    this.prepare(size);
    return this.entry.invoke({ args_0: latents });
  }
}

class TfliteImageEncoder implements ImageEncoder {
  readonly latentChannels: number;
  readonly sizeRule: LatentSizeRule;

  constructor(private readonly entry: Entry) {
    entry.expect(0, 'float32', [1, 3, undefined, undefined]);
    this.latentChannels = entry.expect(1, 'float32', [1, undefined, undefined, undefined])[1]!;
    this.sizeRule = entry.sizeRule(0, 1, VAE_SCALE);
  }

  prepare(size: LatentSize): void {
    this.entry.resize(
      {
        args_0: [1, 3, size.height * VAE_SCALE, size.width * VAE_SCALE],
        args_1: [1, this.latentChannels, size.height, size.width],
      },
      sizeText(size),
    );
  }

  run(image: Float32Array, noise: Float32Array, size: LatentSize): Float32Array {
    this.prepare(size);
    return this.entry.invoke({ args_0: image, args_1: noise });
  }
}

/**
 * Files from this size up have their weights streamed by the pipeline (the
 * interpreter's own default starts at 64 MiB): else the int8 decoder (50 MB)
 * would hold its whole file and a copy of every constant, 100 MB, for the
 * pipeline's life, while it runs once per image.
 */
const STREAM_FILES_FROM = 16 * 1024 * 1024;

/**
 * The resident-weight budget (packed weights kept in kernel memory) for
 * files whose weights are int8: packed as float32, they cost 4x their size
 * in the file resident, and int8 is chosen to save memory.
 */
export const INT8_RESIDENT_WEIGHT_BYTES = 64 * 1024 * 1024;

/**
 * The budget for float16 files: whole-image peak RSS grows by what the
 * budget adds (kernel memory is touched once and never shrinks), from 1.55
 * GB with 256 MiB (fp16, 512x512) to about 2.1 GB; issue 7 asks at most
 * 2.5 GB. Streaming costs a step about 0.37 CPU-ms per MB of packed
 * weights not resident (resident-weights.ts), so each further 0.5 GiB
 * would save about 0.2 CPU-s of the step's 27.
 */
export const FP16_RESIDENT_WEIGHT_BYTES = 768 * 1024 * 1024;

/**
 * The budget for float32 files. Peak RSS has room for more (about 2.3 GB
 * with this, 4.5 allowed); the 4 GiB of kernel memory does not: the
 * decoder runs 128x128 latents (1024x1024) untiled (tiled-decode.ts), with
 * 2.68 GB of activations, and beside the weight slots (0.3 GB at fp32) and
 * its attention scratch (0.27 GB) a 1 GiB budget reached 4.18 of the 4.29
 * GB (fp32, 1024x1024 decode after preparing all three files). This one
 * leaves 0.2 GB and holds the two most valuable layers by the plan
 * (resident-weights.ts), 2560->1280 3x3 filters transformed (2 x 472 MB),
 * which at 8x8 then run as Winograd instead of implicit GEMM; a bigger
 * budget needs the decoder to tile from a smaller size.
 */
export const FP32_RESIDENT_WEIGHT_BYTES = 904 * 1024 * 1024;

/** The budget by the type of the file's largest constant (its weights' precision). */
function residentBudgetFor(file: TfliteFile): number {
  let largest = { bytes: -1, type: '' };
  for (const sg of file.model.subgraphs) {
    for (const t of sg.tensors) {
      const bytes = file.model.buffers[t.buffer]?.size ?? 0;
      if (bytes > largest.bytes) largest = { bytes, type: t.type };
    }
  }
  if (largest.type === 'INT8') return INT8_RESIDENT_WEIGHT_BYTES;
  if (largest.type === 'FLOAT16') return FP16_RESIDENT_WEIGHT_BYTES;
  return FP32_RESIDENT_WEIGHT_BYTES;
}

/**
 * How often each file runs per image, which weighs its layers' claim on
 * the resident-weight budget (resident-weights.ts): the UNet once per step
 * (20 by default), the text encoder at most for the prompt and the
 * negative prompt (repeated ones are cached).
 */
const USES_PER_IMAGE: Readonly<Record<string, number>> = {
  [MODEL_FILES.diffusion]: 20, [MODEL_FILES.clip]: 2, [MODEL_FILES.decoder]: 1, [MODEL_FILES.encoder]: 1,
};

/**
 * Bytes of the largest GEMM weight slot the file's FULLY_CONNECTED and
 * CONV_2D layers could ask for (their weights as float32 panels): constant
 * weights, or DEQUANTIZE of constant weights.
 */
function largestGemmPanelBytes(file: TfliteFile): number {
  return Math.max(0, ...constantWeightLayers(file).map(({ k, n }) => packedGemmBytes(k, n, false)));
}

/**
 * How the pipeline opens its .tflite files on one kernel runtime, so that
 * they cost as little memory together as possible:
 * - the activations of every file share one region of kernel memory
 *   (SharedActivationRegion): the text encoder, UNet and decoder never run
 *   at the same time, so the biggest plan sets the size instead of the sum
 *   (512x512: 671 MB for the decoder instead of 810 MB for all three);
 * - weights of files over STREAM_FILES_FROM are streamed from the file
 *   (the process keeps no copy);
 * - the GEMM weight slot (streamed weights are packed into it before each
 *   use) is planned at load for the largest layer of all files, so it is
 *   allocated once: load every file before preparing any, or each bigger
 *   layer prepared later leaves the smaller slot behind (0.1 GB at full size);
 * - packed weights resident in kernel memory are limited to a budget by
 *   precision (FP32_, FP16_, INT8_RESIDENT_WEIGHT_BYTES; the smallest of
 *   the files loaded), or to `residentWeightBytes` when given;
 * - the budget goes to the layers of all files whose streaming costs the
 *   most per image per byte (src/tflite/ops/wasm/resident-weights.ts), not
 *   to the first prepared: UNet layers before the text encoder's. The plan
 *   covers the files loaded before the first layer is prepared: load every
 *   file first (as for the slot above); one loaded later gets what is left.
 * Outputs must be taken as copies (invoke with inputs does): the next file
 * to run overwrites the region.
 */
export class WasmModelLoader {
  private readonly region: SharedActivationRegion;
  private readonly options: InterpreterOptions;
  private readonly opened: { interpreter: Interpreter; file: TfliteFile }[] = [];
  private readonly candidates: ResidentCandidate[] = [];
  /** Resident bytes allowed per layer (residentKey), planned when the first layer asks after a load. */
  private plan: Map<string, number> | undefined;
  /** The whole resident-weight budget the plan shares out (kernels' prepares see it narrowed). */
  private budget: number;
  /** Whether INT8 FULLY_CONNECTED / 1x1 conv weights run hybrid (their resident form is int8 panels). */
  private readonly int8Compute: boolean;

  constructor(
    private readonly runtime: KernelRuntime,
    wasmOptions: WasmKernelOptions = {},
    private readonly residentWeightBytes?: number,
  ) {
    this.region = new SharedActivationRegion(runtime.arena);
    this.options = wasmInterpreterOptions(runtime, wasmOptions);
    this.int8Compute = Boolean(wasmOptions.int8Compute);
    if (residentWeightBytes !== undefined) runtime.arena.residentWeightBudget = residentWeightBytes;
    this.budget = runtime.arena.residentWeightBudget;
  }

  /** Bytes of the shared activation region (the biggest plan so far). */
  get activationBytes(): number {
    return this.region.reservedBytes;
  }

  load(path: string): Interpreter {
    const stream = statSync(path).size >= STREAM_FILES_FROM;
    const file = TfliteFile.open(path, { lazy: stream });
    try {
      const arena = this.runtime.arena;
      arena.planWeightSlot('gemm', largestGemmPanelBytes(file));
      if (this.residentWeightBytes === undefined) {
        const budget = residentBudgetFor(file);
        this.budget = this.opened.length === 0 ? budget : Math.min(this.budget, budget);
        arena.residentWeightBudget = this.budget;
      }
      const model = this.opened.length;
      this.candidates.push(...residentCandidates(file, model, USES_PER_IMAGE[basename(path)] ?? 1, this.int8Compute));
      this.plan = undefined;
      const kernels = gateResidentWeights(this.options.kernels ?? {}, arena, (node) => {
        this.plan ??= planResidentWeights(this.candidates, this.budget);
        const weight = node.inputs[1];
        return weight ? (this.plan.get(residentKey(model, node.index, weight.index)) ?? 0) : 0;
      });
      const interpreter = Interpreter.load(file, { ...this.options, kernels, arena: this.region.factory(), streamWeights: stream });
      this.opened.push({ interpreter, file });
      return interpreter;
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Closes every file it opened. */
  close(): void {
    for (const { interpreter, file } of this.opened.splice(0)) {
      interpreter.close();
      file.close();
    }
  }
}

/**
 * `wasm` (default): the WebAssembly SIMD kernels on `threads` threads, one
 * shared memory for all four files; `reference`: the plain TypeScript
 * kernels (slow; the yardstick).
 */
export type KernelChoice = 'wasm' | 'reference';

export interface LoadedTfliteComponents extends PipelineComponents {
  close(): Promise<void>;
}

/**
 * Opens clip, diffusion and decoder .tflite from `dir`. encoder.tflite, when
 * present, is opened on first use (img2img), so text-to-image neither pays
 * for it nor depends on it.
 */
export async function loadTfliteComponents(
  dir: string, threads: number, kernels: KernelChoice = 'wasm', wasmOptions: WasmKernelOptions = {},
): Promise<LoadedTfliteComponents> {
  if (!existsSync(dir)) throw new UsageError(`models folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder (the models folder holds ${MODEL_FILES.clip}, ${MODEL_FILES.diffusion}, ${MODEL_FILES.decoder})`);
  const path = (name: string) => join(dir, name);
  for (const name of [MODEL_FILES.clip, MODEL_FILES.diffusion, MODEL_FILES.decoder]) {
    if (!existsSync(path(name))) {
      throw new UsageError(`models folder ${dir} has no ${name} (expected ${Object.values(MODEL_FILES).join(', ')}; make them with npm run convert)`);
    }
  }
  if (kernels === 'wasm') setUpKernels(); // relaxed SIMD (35-50% more GEMM throughput) unless SD_TFLITE_SIMD=plain
  const runtime: KernelRuntime | undefined = kernels === 'wasm' ? await createKernelRuntime({ threads }) : undefined;
  const loader = runtime ? new WasmModelLoader(runtime, wasmOptions) : undefined;
  const opened: Interpreter[] = [];
  const load = (name: string): Interpreter => {
    if (loader) return loader.load(path(name));
    const interpreter = Interpreter.load(path(name), { threads });
    opened.push(interpreter);
    return interpreter;
  };
  const open = (name: string, key: string, inputs: number) => new Entry(load(name), path(name), key, inputs);
  const close = async () => {
    opened.splice(0).forEach((i) => i.close());
    loader?.close();
    await runtime?.close();
  };
  try {
    // All three files first: the text encoder is prepared as soon as its entry is made (see WasmModelLoader).
    const [clip, diffusion, decoderFile] = [MODEL_FILES.clip, MODEL_FILES.diffusion, MODEL_FILES.decoder].map(load) as [Interpreter, Interpreter, Interpreter];
    const textEncoder = new TfliteTextEncoder(new Entry(clip, path(MODEL_FILES.clip), 'encode', 1));
    const denoiser = new TfliteDenoiser(new Entry(diffusion, path(MODEL_FILES.diffusion), 'diffusion', 3));
    // Latents past MAX_UNTILED_LATENT_CELLS (1024x1024 images) decode in tiles, else kernel memory runs out.
    const decoder = new TiledDecoder(new TfliteDecoder(new Entry(decoderFile, path(MODEL_FILES.decoder), 'decode', 1)));
    let imageEncoder: TfliteImageEncoder | undefined;
    return {
      textEncoder,
      denoiser,
      decoder,
      get imageEncoder() {
        if (imageEncoder === undefined && existsSync(path(MODEL_FILES.encoder))) {
          imageEncoder = new TfliteImageEncoder(open(MODEL_FILES.encoder, 'encode', 2));
        }
        return imageEncoder;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
