/**
 * The pipeline's components as .tflite files run by our interpreter, with the
 * signatures of DESIGN.md (also what the reference converter writes):
 * clip.tflite `encode`, diffusion.tflite `diffusion`, decoder.tflite
 * `decode`, encoder.tflite `encode`; inputs args_0, args_1, ... output
 * output_0. Every signature is checked at load against the contract, so a
 * wrong or mixed-up file fails with a message naming it.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, SdError, UsageError } from '../errors.js';
import { packedGemmBytes } from '../kernels/wasm/gemm-pack.js';
import { createKernelRuntime, type KernelRuntime } from '../kernels/wasm/runtime.js';
import { Interpreter, type InterpreterOptions } from '../tflite/interpreter/interpreter.js';
import { SharedActivationRegion } from '../tflite/interpreter/tensor-arena.js';
import { TfliteFile } from '../tflite/reader.js';
import { wasmInterpreterOptions, type WasmKernelOptions } from '../tflite/ops/wasm/index.js';
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

class TfliteDenoiser implements Denoiser {
  readonly latentChannels: number;
  readonly contextWidth: number;
  readonly timeEmbeddingWidth: number;
  readonly sizeRule: LatentSizeRule;

  constructor(private readonly entry: Entry) {
    this.latentChannels = entry.expect(0, 'float32', [2, undefined, undefined, undefined])[1]!;
    this.contextWidth = entry.expect(1, 'float32', [2, CONTEXT_LENGTH, undefined])[2]!;
    this.timeEmbeddingWidth = entry.expect(2, 'float32', [1, undefined])[1]!;
    this.sizeRule = entry.sizeRule(0, DYNAMIC_UNET_MULTIPLE, 1);
  }

  prepare(size: LatentSize): void {
    this.entry.resize({ args_0: [2, this.latentChannels, size.height, size.width] }, sizeText(size));
  }

  run(latents: Float32Array, context: Float32Array, timeEmbedding: Float32Array, size: LatentSize): Float32Array {
    this.prepare(size);
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
 * files whose weights are int8: the arena's default (256 MiB) would hold a
 * quarter as many weights as it does in float, since they are packed as
 * float32 (4x their size in the file), and int8 is chosen to save memory.
 * The budget goes to the layers prepared first, the text encoder's
 * (prepared at load), which runs twice per image: 64 instead of 256 MiB
 * costs it about 0.4 s per call (fp32, 2 threads), nothing per step.
 */
export const INT8_RESIDENT_WEIGHT_BYTES = 64 * 1024 * 1024;

/** Whether the file's largest constant is INT8 (a weight-only int8 conversion). */
function holdsInt8Weights(file: TfliteFile): boolean {
  let largest = { bytes: -1, type: '' };
  for (const sg of file.model.subgraphs) {
    for (const t of sg.tensors) {
      const bytes = file.model.buffers[t.buffer]?.size ?? 0;
      if (bytes > largest.bytes) largest = { bytes, type: t.type };
    }
  }
  return largest.type === 'INT8';
}

/**
 * Bytes of the largest GEMM weight slot the file's FULLY_CONNECTED and
 * CONV_2D layers could ask for (their weights as float32 panels): constant
 * weights, or DEQUANTIZE of constant weights.
 */
function largestGemmPanelBytes(file: TfliteFile): number {
  let largest = 0;
  for (const sg of file.model.subgraphs) {
    const stored = (t: number) => (file.model.buffers[sg.tensors[t]?.buffer ?? -1]?.size ?? 0) > 0;
    const dequantized = new Set(sg.operators.filter((op) => op.opName === 'DEQUANTIZE' && stored(op.inputs[0]!)).map((op) => op.outputs[0]!));
    for (const op of sg.operators) {
      if (op.opName !== 'FULLY_CONNECTED' && op.opName !== 'CONV_2D') continue;
      const w = op.inputs[1]!;
      if (w < 0 || !(stored(w) || dequantized.has(w))) continue;
      const [n, ...rest] = sg.tensors[w]!.shape;
      const k = rest.reduce((a, d) => a * d, 1);
      if (n! > 0 && k > 0) largest = Math.max(largest, packedGemmBytes(k, n!, false));
    }
  }
  return largest;
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
 * - packed weights resident in kernel memory are limited to
 *   INT8_RESIDENT_WEIGHT_BYTES once an int8 file is loaded (or to
 *   `residentWeightBytes` when given).
 * Outputs must be taken as copies (invoke with inputs does): the next file
 * to run overwrites the region.
 */
export class WasmModelLoader {
  private readonly region: SharedActivationRegion;
  private readonly options: InterpreterOptions;
  private readonly opened: { interpreter: Interpreter; file: TfliteFile }[] = [];

  constructor(
    private readonly runtime: KernelRuntime,
    wasmOptions: WasmKernelOptions = {},
    private readonly residentWeightBytes?: number,
  ) {
    this.region = new SharedActivationRegion(runtime.arena);
    this.options = wasmInterpreterOptions(runtime, wasmOptions);
    if (residentWeightBytes !== undefined) runtime.arena.residentWeightBudget = residentWeightBytes;
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
      if (this.residentWeightBytes === undefined && holdsInt8Weights(file)) {
        arena.residentWeightBudget = Math.min(arena.residentWeightBudget, INT8_RESIDENT_WEIGHT_BYTES);
      }
      const interpreter = Interpreter.load(file, { ...this.options, arena: this.region.factory(), streamWeights: stream });
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
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`models folder ${dir} does not exist`);
  const path = (name: string) => join(dir, name);
  for (const name of [MODEL_FILES.clip, MODEL_FILES.diffusion, MODEL_FILES.decoder]) {
    if (!existsSync(path(name))) {
      throw new UsageError(`models folder ${dir} has no ${name} (expected ${Object.values(MODEL_FILES).join(', ')}; make them with npm run convert)`);
    }
  }
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
