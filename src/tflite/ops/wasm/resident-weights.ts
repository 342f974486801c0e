/**
 * Which layers keep their packed weights resident in kernel memory when the
 * arena's resident-weight budget cannot hold them all (full-size SD: the
 * UNet's packed forms alone are 6.7 GB). Left alone, the budget goes first
 * come, first served, to the layers prepared first: the text encoder's,
 * which runs twice per image, while a UNet layer runs once per step. Here
 * the budget goes to the layers whose streaming costs the most time per
 * image per byte of budget:
 *
 *   saved ms per image = uses per image x STREAMING_MS_PER_MB[form] x MB resident
 *
 * The candidates come from the files before any layer is prepared
 * (residentCandidates, planResidentWeights); gateResidentWeights then lets
 * each layer's kernel reserve only what the plan gave it.
 */
import type { WasmArena } from '../../../kernels/wasm/arena.js';
import { packedGemmInt8Bytes } from '../../../kernels/wasm/gemm-int8-pack.js';
import { packedGemmBytes } from '../../../kernels/wasm/gemm-pack.js';
import { winogradFilterBytes } from '../../../kernels/wasm/winograd-pack.js';
import type { TfliteFile } from '../../reader.js';
import type { KernelOverride, KernelOverrides, Node } from '../op.js';
import { pointwiseConvShape } from './conv-2d-int8.js';
import { winogradConvShape, type ConvWindow } from './conv-2d.js';

/**
 * CPU time one streamed use costs, in ms per MB of the form kept resident
 * instead. Measured on the full-size UNet, 2 threads, each streamed
 * layer's read + pack (or read + transform) timed alone, CPU time (the
 * machine was shared; wall times were 2-3x these):
 * - 'winograd': per MB of transformed filter U (4x the fp32 filter):
 *   0.41 (fp16), 0.38 (fp32) over the 33 per-use layers. The 8x8 layers
 *   at 512x512 run as implicit GEMM with streamed panels instead, and as
 *   Winograd when resident, which saves about as much per byte (2x8x8x1280:
 *   about 70 CPU-ms per 236 MB of U, bench conv); the files leave height
 *   and width open, so one rate covers both;
 * - 'gemm': per MB of GEMM panels: 0.27 (fp16), 0.44 (fp32) for layers of
 *   10 MB and more, 0.26 and 0.41 for the smaller ones.
 * In all, streaming costs a step about 2.4 (fp16) to 2.6 (fp32) CPU-s of
 * about 27, 0.36-0.39 CPU-ms per MB of the UNet's 6.7 GB of packed weights.
 * The rates differ far less than the uses per image of the models do,
 * which is what mostly orders the plan.
 */
export const STREAMING_MS_PER_MB = { winograd: 0.4, gemm: 0.3 } as const;

export type ResidentForm = keyof typeof STREAMING_MS_PER_MB;

/** A layer whose packed weights could be resident. */
export interface ResidentCandidate {
  /** The caller's number for the model (file) the layer is in. */
  readonly model: number;
  /** Operator index in its subgraph, and its weight tensor. */
  readonly op: number;
  readonly weight: number;
  readonly form: ResidentForm;
  /** Bytes its weights take resident (what the kernel reserves of the budget). */
  readonly bytes: number;
  /** Estimated time saved per image when resident. */
  readonly msPerImage: number;
}

/** Key of a layer in a plan. */
export function residentKey(model: number, op: number, weight: number): string {
  return `${model}:${op}:${weight}`;
}

/** A CONV_2D or FULLY_CONNECTED layer whose weights are constant: stored, or DEQUANTIZE of stored ones. */
export interface ConstantWeightLayer {
  /** Operator index in its subgraph, and its weight tensor. */
  readonly op: number;
  readonly weight: number;
  readonly opName: 'CONV_2D' | 'FULLY_CONNECTED';
  readonly options: unknown;
  /** The weight tensor's shape and type; n output channels of k values each. */
  readonly shape: readonly number[];
  readonly type: string;
  /** Whether the weights are stored as they are (not the output of a DEQUANTIZE). */
  readonly stored: boolean;
  readonly n: number;
  readonly k: number;
}

/** The CONV_2D and FULLY_CONNECTED layers of `file` with constant weights, in every subgraph. */
export function constantWeightLayers(file: TfliteFile): ConstantWeightLayer[] {
  const out: ConstantWeightLayer[] = [];
  for (const sg of file.model.subgraphs) {
    const stored = (t: number) => (file.model.buffers[sg.tensors[t]?.buffer ?? -1]?.size ?? 0) > 0;
    const dequantized = new Set(sg.operators.filter((op) => op.opName === 'DEQUANTIZE' && stored(op.inputs[0]!)).map((op) => op.outputs[0]!));
    sg.operators.forEach((op, index) => {
      if (op.opName !== 'FULLY_CONNECTED' && op.opName !== 'CONV_2D') return;
      const w = op.inputs[1] ?? -1;
      if (w < 0 || !(stored(w) || dequantized.has(w))) return;
      const { shape, type } = sg.tensors[w]!;
      const [n, ...rest] = shape;
      const k = rest.reduce((a, d) => a * d, 1);
      if (n! > 0 && k > 0) out.push({ op: index, weight: w, opName: op.opName, options: op.options, shape, type, stored: stored(w), n: n!, k });
    });
  }
  return out;
}

/**
 * The constant-weight layers of `file` (constantWeightLayers), each in the
 * form the wasm kernels would keep resident: a Winograd-shaped 3x3 conv its
 * transformed filter, any other layer its GEMM panels (with `int8Compute`,
 * an INT8 FULLY_CONNECTED or 1x1 conv its int8 panels, a quarter of the
 * float ones, as conv-2d-int8.ts and fully-connected-int8.ts pack them).
 * `usesPerImage`: how often the model runs per image (the UNet once per step).
 */
export function residentCandidates(file: TfliteFile, model: number, usesPerImage: number, int8Compute = false): ResidentCandidate[] {
  return constantWeightLayers(file).map(({ op, weight, opName, options, shape, type, stored, n, k }) => {
    const window = options as ConvWindow;
    const winograd = opName === 'CONV_2D' && shape.length === 4 && options !== undefined && winogradConvShape(shape, window);
    const hybrid = int8Compute && stored && type === 'INT8' && (opName === 'FULLY_CONNECTED' || pointwiseConvShape(shape, window));
    const form: ResidentForm = winograd ? 'winograd' : 'gemm';
    const bytes = winograd ? winogradFilterBytes(shape[3]!, n) : hybrid ? packedGemmInt8Bytes(k, n) : packedGemmBytes(k, n, false);
    return { model, op, weight, form, bytes, msPerImage: usesPerImage * STREAMING_MS_PER_MB[form] * (bytes / 1e6) };
  });
}

/**
 * The candidates to keep resident within `budget` bytes, by saved time
 * per byte (the biggest first among equals), skipping any that no longer
 * fits: bytes allowed per residentKey.
 */
export function planResidentWeights(candidates: readonly ResidentCandidate[], budget: number): Map<string, number> {
  const byValue = [...candidates].sort((a, b) => b.msPerImage / b.bytes - a.msPerImage / a.bytes || b.bytes - a.bytes);
  const plan = new Map<string, number>();
  let left = budget;
  for (const c of byValue) {
    const key = residentKey(c.model, c.op, c.weight);
    if (c.bytes > left || plan.has(key)) continue;
    plan.set(key, c.bytes);
    left -= c.bytes;
  }
  return plan;
}

/**
 * `kernels` with each prepare limited to the resident weights `allowance`
 * gives its node (0: stream them): the arena's budget is narrowed to that
 * much more than is resident now while the kernel prepares, and never
 * widened. Kernels reserve through the budget (gemm-pack.ts, conv-2d.ts),
 * so a layer planned for its transformed Winograd filter but running as
 * implicit GEMM still fits its smaller panels in the allowance.
 */
export function gateResidentWeights(kernels: KernelOverrides, arena: WasmArena, allowance: (node: Node) => number): KernelOverrides {
  const gated: Record<string, KernelOverride> = {};
  for (const [op, o] of Object.entries(kernels)) {
    const prepare = o.prepare;
    gated[op] = {
      supports: o.supports?.bind(o),
      run: o.run.bind(o),
      prepare: prepare && ((node, ctx) => {
        const budget = arena.residentWeightBudget;
        arena.residentWeightBudget = Math.min(budget, arena.residentWeightBytes + allowance(node));
        try {
          prepare.call(o, node, ctx);
        } finally {
          arena.residentWeightBudget = budget;
        }
      }),
    };
  }
  return gated;
}
