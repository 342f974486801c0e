/**
 * Layer norm over the last axis, written as builtin ops (see
 * normalization-core.ts), optionally followed by per-channel gamma/beta:
 * runs as FUSED_LAYER_NORM on the reference layerNorm kernel.
 */
import { layerNorm } from '../../../kernels/reference/layer-norm.js';
import { input, output, setShape, store } from '../../ops/node-access.js';
import { floatOperand } from '../../ops/shared.js';
import { Region } from './graph-index.js';
import { fusedStep, type FusedKernel } from './fused-op.js';
import { matchNormCore, peelAffine } from './normalization-core.js';
import type { FusionPattern } from './pattern.js';

export interface LayerNormState {
  eps: number;
}

const kernel: FusedKernel<LayerNormState> = {
  name: 'FUSED_LAYER_NORM',
  prepare(node) {
    const x = input(node, 0);
    const channels = x.shape[x.shape.length - 1];
    const fits = node.inputs.slice(1).every((t) => !t || (t.size === channels && t.shape.length <= x.shape.length));
    if (x.type !== 'FLOAT32' || channels === undefined || !fits) return false;
    setShape(output(node), x.shape);
    return true;
  },
  run(node, { eps }) {
    const x = input(node, 0);
    const c = x.shape[x.shape.length - 1]!;
    const vec = (i: number) => (node.inputs[i] ? { data: floatOperand(node.inputs[i]!).data, shape: [c] } : null);
    store(output(node), layerNorm(x.asTensor(), vec(1), vec(2), eps));
  },
};

export const layerNormPattern: FusionPattern = {
  name: 'layer norm',
  match(anchor, graph, order) {
    const y = anchor.node.outputs[0];
    if (!y || anchor.node.outputs.length !== 1) return undefined;
    const region = new Region(graph);
    const tail = peelAffine(region, y);
    const core = matchNormCore(region, tail.inner);
    if (!core || !region.steps.has(anchor) || !region.sealed(y)) return undefined;
    const rank = core.x.shape.length;
    if (core.axes.length !== 1 || (core.axes[0] !== -1 && core.axes[0] !== rank - 1)) return undefined;
    return { region: region.steps, step: fusedStep(kernel, { eps: core.eps }, region.steps, order, [core.x, tail.gamma, tail.beta], y) };
  },
};
