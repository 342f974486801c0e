/**
 * CONV_2D on the WebAssembly kernels: a 3x3 stride-1 undilated filter runs
 * as Winograd F(4x4, 3x3) (kernels/wasm/winograd.ts). Its transformed
 * filter (4x the fp32 filter's size) stays resident while the arena's
 * resident-weight budget takes it (and the arena stays under half the
 * kernels' memory); past that it is streamed, transformed before each use
 * (winograd-pack.ts), where that still beats implicit GEMM (see
 * PER_USE_WINOGRAD_MIN_POSITIONS); other layers, and every layer with
 * SD_TFLITE_WINOGRAD=0 or `{ winograd: false }`, run as implicit GEMM, their
 * panels streamed past the budget as gemm-pack.ts does. A 1x1 stride-1 filter is one GEMM over the NHWC
 * image as [N·H·W, C] rows; any other ungrouped filter (stride, dilation,
 * SAME/VALID) runs as implicit GEMM (kernels/wasm/conv-implicit-gemm.ts),
 * reading the image in place. The OHWI filter [O, kh, kw, I] is the GEMM's
 * [N, K] weights as stored, packed once.
 */
import { windowAxis } from '../../../kernels/reference/padding.js';
import { convImplicitGemm } from '../../../kernels/wasm/conv-implicit-gemm.js';
import { gemm } from '../../../kernels/wasm/gemm.js';
import { packGemmWeights, type PackedGemm } from '../../../kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { PAGE_BYTES } from '../../../kernels/wasm/loader.js';
import { winogradConv3x3 } from '../../../kernels/wasm/winograd.js';
import { packWinogradWeights, winogradFilterBytes, type PackedWinograd, type WinogradPlacement } from '../../../kernels/wasm/winograd-pack.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { CLAMPS, gemmWeights, pointer, takesGemmWeights } from './operands.js';

/** Packed weights: GEMM panels (implicit GEMM, 1x1) or the Winograd transform. */
type ConvState = { kind: 'gemm'; packed: PackedGemm } | { kind: 'winograd'; packed: PackedWinograd };

/**
 * Fewest input and output channels for Winograd. The image-side convolutions
 * (RGB or latent channels in or out) are a negligible share of the work and
 * stay on the direct path, which rounds less: on SD-like data at 320-1280
 * channels Winograd F(4x4, 3x3) is 3e-6 to 1.2e-5 of max |output| off a
 * float64 reference, the direct GEMM 1.7e-6 to 2.9e-6.
 */
const WINOGRAD_MIN_CHANNELS = 8;

/** CONV_2D options as both the node and the file's operator carry them. */
export interface ConvWindow {
  strideH: number;
  strideW: number;
  dilationHFactor: number;
  dilationWFactor: number;
}

/** Whether a CONV_2D with OHWI filter `shape` runs as Winograd when enabled (resident filter, or streamed at enough positions). */
export function winogradConvShape([cout, kh, kw, cin]: readonly number[], o: ConvWindow): boolean {
  return kh === 3 && kw === 3 && o.strideH === 1 && o.strideW === 1 && o.dilationHFactor === 1 && o.dilationWFactor === 1
    && cin! >= WINOGRAD_MIN_CHANNELS && cout! >= WINOGRAD_MIN_CHANNELS;
}

function winogradShape(node: Node): boolean {
  return winogradConvShape(input(node, 1).shape, optionsOf(node, 'CONV_2D'));
}

/**
 * Fewest output positions (batch x outH x outW) at which Winograd with its
 * filter transformed before each use (a streamed filter) beats implicit
 * GEMM. Both the transform and the convolutions cost in proportion to
 * Cin·Cout, so the break-even is about the same position count at every
 * channel width. `npm run bench -- conv --batch 2 --threads 2` (relaxed,
 * GFLOP per CPU-second, one run on a loaded machine), per-use Winograd vs
 * implicit GEMM with panels packed per use (resident panels in brackets):
 *   8x8x1280 (128 positions):   26.1 vs 36.9 (35.2)  0.71x
 *   8x8x2560->1280:             27.8 vs 31.4 (42.5)  0.89x
 *   16x16x1280 (512 positions): 81.5 vs 42.9 (43.2)  1.9x
 *   16x16x2560->1280:           58.6 vs 31.5 (44.0)  1.9x
 *   32x32x640:  123.4 vs 38.9  3.2x;  32x32x1920->640: 91.4 vs 42.5  2.2x
 *   64x64x320:  111.0 vs 44.6  2.5x;  64x64x640->320: 116.5 vs 44.9  2.6x
 * Half of the transform's time is writing U (4x the fp32 filter) to memory.
 */
const PER_USE_WINOGRAD_MIN_POSITIONS = 256;

export function wasmConv2d(
  runtime: KernelRuntime,
  { winograd = process.env.SD_TFLITE_WINOGRAD !== '0' }: { winograd?: boolean } = {},
): KernelOverride {
  /** Where a Winograd layer's filter lives, or undefined when the layer should run as implicit GEMM. */
  function winogradPlacement(node: Node): WinogradPlacement | undefined {
    const [cout, , , cin] = input(node, 1).shape as [number, number, number, number];
    const [batch, outH, outW] = output(node).shape as [number, number, number];
    const arena = runtime.arena;
    const bytes = winogradFilterBytes(cin, cout);
    // Order matters: the budget is only reserved for a filter that stays resident.
    if (arena.top + bytes <= (arena.maximumPages * PAGE_BYTES) / 2 && arena.reserveResidentWeights(bytes)) return 'resident';
    return batch * outH * outW >= PER_USE_WINOGRAD_MIN_POSITIONS ? 'streamed' : undefined;
  }

  return {
    supports(node) {
      const o = optionsOf(node, 'CONV_2D');
      const w = node.inputs[1];
      const x = input(node, 0);
      const bias = node.inputs[2];
      return w !== undefined && w.shape[3] === x.shape[3] && !x.isConstant && o.fusedActivationFunction in CLAMPS
        && w.constant !== undefined && takesGemmWeights(w.constant, w.shape[0]!) && (!bias || bias.isConstant);
    },
    prepare(node) {
      if (node.kernelState) return;
      const w = input(node, 1);
      const [units, kh, kw, depth] = w.shape as [number, number, number, number];
      const bias = node.inputs[2]?.constant?.float32();
      const data = gemmWeights(w.constant!, units)!;
      const placement = winograd && winogradShape(node) ? winogradPlacement(node) : undefined;
      const state: ConvState = placement
        ? { kind: 'winograd', packed: packWinogradWeights(runtime, { cin: depth, cout: units, bias, filter: data }, placement) }
        : { kind: 'gemm', packed: packGemmWeights(runtime, { ...data, k: kh * kw * depth, n: units, layout: 'nk', bias }) };
      node.kernelState = state;
    },
    run(node) {
      const o = optionsOf(node, 'CONV_2D');
      const state = node.kernelState as ConvState;
      const clamp = CLAMPS[o.fusedActivationFunction as 'NONE'];
      const x = input(node, 0);
      const out = output(node);
      const [, kh, kw] = input(node, 1).shape as [number, number, number];
      const xPtr = pointer(runtime, x);
      const outPtr = pointer(runtime, out);
      if (state.kind === 'winograd') {
        const [batch, inH, inW] = x.shape as [number, number, number];
        const [, outH, outW] = out.shape as [number, number, number];
        const padTop = windowAxis(o.padding, inH, 3, 1, 1).before;
        const padLeft = windowAxis(o.padding, inW, 3, 1, 1).before;
        winogradConv3x3(runtime, state.packed, { x: xPtr, out: outPtr, batch, inH, inW, outH, outW, padTop, padLeft, clamp });
        return;
      }
      const packed = state.packed;
      const positions = out.size / packed.n;
      if (kh === 1 && kw === 1 && o.strideH === 1 && o.strideW === 1) {
        gemm(runtime, packed, { a: xPtr, c: outPtr, m: positions, clamp });
        return;
      }
      const [batch, inH, inW, cin] = x.shape as [number, number, number, number];
      const [, outH, outW] = out.shape as [number, number, number];
      const geometry = {
        batch, inH, inW, cin, outH, outW, kh, kw,
        stride: [o.strideH, o.strideW] as const,
        dilation: [o.dilationHFactor, o.dilationWFactor] as const,
        padTop: windowAxis(o.padding, inH, kh, o.strideH, o.dilationHFactor).before,
        padLeft: windowAxis(o.padding, inW, kw, o.strideW, o.dilationWFactor).before,
      };
      convImplicitGemm(runtime, packed, geometry, { x: xPtr, out: outPtr, clamp });
    },
  };
}
