/**
 * Finds, compiles and instantiates the WebAssembly kernels module built by
 * build.mjs (build/wasm/ at the package root), choosing the relaxed-SIMD
 * variant when the engine validates relaxed SIMD and the plain-SIMD variant
 * otherwise (plain Node 20 needs --experimental-wasm-relaxed-simd for it;
 * Node 22 and 24 validate it from the start).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { SdError, UsageError } from '../../errors.js';
import type { KernelExports } from './exports.js';
import { packageRoot } from '../../package-root.js';

export type KernelVariant = 'simd' | 'relaxed';

/** WebAssembly features of the running engine that the kernels care about. */
export interface WasmFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  sharedMemory: boolean;
}

/** Largest memory the kernels are built for: 65536 pages of 64 KiB = 4 GiB. */
export const MAX_MEMORY_PAGES = 65536;
export const PAGE_BYTES = 65536;

/** A module with one function `() -> ()` whose body is `body` (no locals). */
function moduleWithBody(body: number[]): Uint8Array {
  const code = [0x00, ...body, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x02, 0x01, 0x00, // function section
    0x0a, code.length + 2, 0x01, code.length, ...code, // code section
  ]);
}

const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];

/** Probes the engine with tiny modules (WebAssembly.validate, no execution). */
export function detectWasmFeatures(): WasmFeatures {
  // i32.const 0; i8x16.splat; drop
  const simd = moduleWithBody([0x41, 0x00, 0xfd, 0x0f, 0x1a]);
  // three v128.const 0; f32x4.relaxed_madd (0xfd 0x105); drop
  const relaxed = moduleWithBody([...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x1a]);
  // a module declaring `(memory 1 1 shared)`
  const shared = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x04, 0x01, 0x03, 0x01, 0x01]);
  return {
    simd: WebAssembly.validate(simd),
    relaxedSimd: WebAssembly.validate(relaxed),
    sharedMemory: typeof SharedArrayBuffer === 'function' && WebAssembly.validate(shared),
  };
}

/**
 * Opt-in: turns on V8's relaxed SIMD in this process (Node 20 keeps it behind
 * --experimental-wasm-relaxed-simd), so 'auto' picks the faster variant
 * (35-50% more GEMM throughput here). Call it before the kernels are
 * compiled. Returns whether the engine now validates relaxed SIMD; the flag
 * is set only when it does not already, and detection still decides. Node
 * 22 and 24 (V8 12.4, 13.6) have relaxed SIMD on and no longer know the
 * flag: setting it there would only print "unrecognized flag" to stderr
 * (and on a node command line it is fatal: "bad option"), so nothing is set.
 */
export function enableRelaxedSimd(): boolean {
  if (!detectWasmFeatures().relaxedSimd) setFlagsFromString('--experimental-wasm-relaxed-simd');
  return detectWasmFeatures().relaxedSimd;
}

/** Environment variable choosing what 'auto' resolves to: plain (SIMD only), relaxed, or auto (detection). */
export const SIMD_ENV = 'SD_TFLITE_SIMD';

/** The variant SD_TFLITE_SIMD asks for ('auto' when unset). */
function variantFromEnv(): KernelVariant | 'auto' {
  const value = process.env[SIMD_ENV];
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'plain') return 'simd';
  if (value === 'relaxed') return 'relaxed';
  throw new UsageError(`${SIMD_ENV} must be plain, relaxed or auto, got ${JSON.stringify(value)}`);
}

/**
 * Start-up of our command-line tools (generate, demo, tflite, bench) and of
 * the pipeline (loadTfliteComponents, so StableDiffusion.load), before any
 * kernel is compiled: turns relaxed SIMD on (enableRelaxedSimd) unless
 * SD_TFLITE_SIMD=plain. The flag cannot go in NODE_OPTIONS, so it is set at
 * run time; relaxed SIMD is a finished WebAssembly standard that Node 22 and
 * later enable by default (docs/node-versions.md), and the flag only makes
 * its instructions validate on Node 20. On an engine that still cannot
 * validate them, 'auto' stays on plain SIMD. Lower-level code
 * (createKernelRuntime, Interpreter) sets no V8 flags by itself.
 */
export function setUpKernels(): void {
  if (variantFromEnv() !== 'simd') enableRelaxedSimd();
}

/**
 * Picks the kernel variant: 'auto' takes relaxed SIMD when the engine
 * validates it, unless SD_TFLITE_SIMD (plain | relaxed) says otherwise.
 */
export function chooseVariant(requested: KernelVariant | 'auto' = 'auto'): KernelVariant {
  if (requested === 'auto') requested = variantFromEnv();
  const features = detectWasmFeatures();
  if (!features.simd || !features.sharedMemory) {
    throw new SdError('this JavaScript engine lacks WebAssembly SIMD or shared memory, which the kernels need');
  }
  if (requested === 'relaxed' && !features.relaxedSimd) {
    throw new UsageError(
      'relaxed SIMD kernels requested but this engine does not support relaxed SIMD ' +
        '(Node 20 needs --experimental-wasm-relaxed-simd, which our CLIs set)',
    );
  }
  if (requested === 'auto') return features.relaxedSimd ? 'relaxed' : 'simd';
  return requested;
}

/** Path of the built .wasm file of a variant. */
export function kernelWasmPath(variant: KernelVariant): string {
  return join(packageRoot(), 'build', 'wasm', `kernels-${variant}.wasm`);
}

const compiled = new Map<KernelVariant, WebAssembly.Module>();
/** The file each compiled module came from, for errors. */
const compiledFrom = new WeakMap<WebAssembly.Module, string>();

/**
 * The argument count of every function KernelExports (exports.ts) declares.
 * Its type makes tsc reject this table whenever exports.ts adds, drops or
 * changes a function and the table does not follow, so checkKernelExports
 * always covers the whole interface: add the new function's line here.
 */
export const KERNEL_EXPORT_ARITY: { readonly [K in keyof KernelExports]: Parameters<KernelExports[K]>['length'] } = {
  simdPeak: 3,
  simdPeakParallel: 5,
  gemm: 14,
  quantizeRowsInt8: 13,
  gemmInt8: 15,
  packGemmInt8Panels: 14,
  attention: 24,
  attentionScratchBytes: 3,
  groupNormStats: 7,
  groupNormReduce: 12,
  groupNormApply: 9,
  layerNorm: 9,
  softmax: 7,
  binary: 14,
  unary: 6,
  geglu: 7,
  winogradScratchBytes: 2,
  winogradPackFilter: 11,
  winogradConv3x3: 23,
  convImplicitGemm: 25,
  packGemmPanels: 12,
  winogradPackScratchBytes: 0,
};

/**
 * Checks an instance's exports against what this code calls: every function
 * of KernelExports, with its argument count. A .wasm built from other
 * sources than the running JavaScript (not rebuilt after a pull, or
 * rebuilt under a running process) fails here, at load, instead of
 * trapping or computing garbage mid-run.
 */
export function checkKernelExports(exports: Record<string, unknown>, source: string): void {
  const problems: string[] = [];
  for (const [name, arity] of Object.entries(KERNEL_EXPORT_ARITY)) {
    const fn = exports[name];
    if (typeof fn !== 'function') problems.push(`no export ${name}`);
    else if (fn.length !== arity) problems.push(`${name} takes ${fn.length} arguments, the code passes ${arity}`);
  }
  if (problems.length) {
    throw new SdError(`${source} does not match this version of the code (${problems.join('; ')}): it was built from other sources; run npm run build`);
  }
}

/**
 * V8 compiles each wasm function on its first call, by default with Liftoff
 * (its baseline compiler), and moves a function to TurboFan only for later
 * calls once it has run a while: a kernel's first call, which runs its whole
 * share of the op, stays in Liftoff code. Measured here (2 threads, relaxed
 * SIMD, a loaded 2-core machine): first attention call at 2x8 heads x 1024
 * x 1024 x d 40 took 173-249 ms vs 67-70 ms for later calls, and 75-81 ms
 * with --no-liftoff; the tiny-a decoder at 512x512 (tflite run --repeat 1,
 * medians of 4) took 2.07 s -> 1.68 s for its invocation, 1.72 s -> 1.45 s
 * of process CPU; the tiny-a UNet at 64x64 is unchanged (0.69 s CPU, within
 * noise). Compilation stays lazy, so module compile time is unchanged (under
 * 2 ms; eager TurboFan would take about 40 ms). The flag is process-wide and
 * only changes speed; it is left alone when the node command line sets it.
 */
function preferOptimizingCompiler(): void {
  if (!process.execArgv.some((a) => /^--(no-)?liftoff\b/.test(a))) setFlagsFromString('--no-liftoff');
}

/** Compiles (once per process) the kernels module of a variant. */
export function compileKernels(variant: KernelVariant): WebAssembly.Module {
  let module = compiled.get(variant);
  if (!module) {
    const path = kernelWasmPath(variant);
    if (!existsSync(path)) {
      throw new SdError(`WebAssembly kernels not built (${path} missing): run npm run build:wasm`);
    }
    preferOptimizingCompiler();
    module = new WebAssembly.Module(readFileSync(path));
    compiled.set(variant, module);
    compiledFrom.set(module, path);
  }
  return module;
}

/** A shared memory the kernels module can import (grown later by the arena). */
export function createSharedMemory(initialPages = 16, maximumPages = MAX_MEMORY_PAGES): WebAssembly.Memory {
  if (!(initialPages >= 1 && initialPages <= maximumPages && maximumPages <= MAX_MEMORY_PAGES)) {
    throw new UsageError(`memory pages must satisfy 1 <= initial (${initialPages}) <= maximum (${maximumPages}) <= ${MAX_MEMORY_PAGES}`);
  }
  return new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared: true });
}

/**
 * Instantiates the kernels on a shared memory, checking the exports
 * (checkKernelExports). The main thread calls this once; the worker pool
 * instantiates the same compiled module in each worker, so every thread
 * runs the same code whatever happens to build/wasm meanwhile.
 */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  checkKernelExports(instance.exports, compiledFrom.get(module) ?? 'the kernels module');
  return instance.exports as unknown as KernelExports;
}
