/**
 * Group norm on channels-last x [N, ..., C] as converters write it: x
 * reshaped to [N, S, G, C/G], the normalisation core over axes (1, 3),
 * reshaped back, then optional per-channel gamma/beta. Runs as
 * FUSED_GROUP_NORM on the reference groupNorm kernel.
 */
import { groupNorm } from '../../../kernels/reference/group-norm.js';
import { input, output, setShape, store } from '../../ops/node-access.js';
import { resolveNewShape } from '../../ops/reshape.js';
import { floatOperand } from '../../ops/shared.js';
import type { Step } from '../subgraph-executor.js';
import { constantInts, Region } from './graph-index.js';
import { fusedStep, type FusedKernel } from './fused-op.js';
import { matchNormCore, peelAffine } from './normalization-core.js';
import type { FusionPattern } from './pattern.js';

interface GroupNormState {
  eps: number;
  groups: number;
  /** The shapes the two RESHAPEs ask for (may hold -1). */
  grouped: number[];
  back: number[];
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

const kernel: FusedKernel<GroupNormState> = {
  name: 'FUSED_GROUP_NORM',
  prepare(node, s) {
    const x = input(node, 0);
    const n = x.shape[0]!;
    const c = x.shape[x.shape.length - 1]!;
    if (x.type !== 'FLOAT32' || x.shape.length < 2 || n === 0 || c % s.groups !== 0) return false;
    let grouped: number[];
    let back: number[];
    try {
      grouped = resolveNewShape(x.size, s.grouped, 'group norm');
      back = resolveNewShape(x.size, s.back, 'group norm');
    } catch {
      return false; // the original RESHAPEs report it
    }
    if (!same(grouped, [n, x.size / (n * c), s.groups, c / s.groups]) || !same(back, x.shape)) return false;
    if (!node.inputs.slice(1).every((t) => !t || t.size === c)) return false;
    setShape(output(node), x.shape);
    return true;
  },
  run(node, s) {
    const x = input(node, 0);
    const c = x.shape[x.shape.length - 1]!;
    const vec = (i: number, fill: number) => ({ data: node.inputs[i] ? floatOperand(node.inputs[i]!).data : new Float32Array(c).fill(fill), shape: [c] });
    store(output(node), groupNorm(x.asTensor(), vec(1, 1), vec(2, 0), { groups: s.groups, eps: s.eps }));
  },
};

function requestedShape(reshape: Step): number[] | undefined {
  return reshape.node.inputs[1] ? constantInts(reshape.node.inputs[1]) : (reshape.node.options as { newShape?: number[] }).newShape;
}

export const groupNormPattern: FusionPattern = {
  name: 'group norm',
  match(anchor, graph, order) {
    const y = anchor.node.outputs[0];
    if (!y || anchor.node.outputs.length !== 1) return undefined;
    const region = new Region(graph);
    const tail = peelAffine(region, y);
    const backStep = region.take(tail.inner, 'RESHAPE');
    const core = backStep?.node.inputs[0] ? matchNormCore(region, backStep.node.inputs[0]) : undefined;
    const groupStep = core ? region.take(core.x, 'RESHAPE') : undefined;
    if (!backStep || !core || !groupStep || !region.steps.has(anchor) || !region.sealed(y)) return undefined;
    const grouped = requestedShape(groupStep);
    const back = requestedShape(backStep);
    const axes = core.axes.map((a) => (a < 0 ? a + 4 : a)).sort();
    if (!grouped || !back || grouped.length !== 4 || !(grouped[2]! > 0) || axes.join() !== '1,3') return undefined;
    const x = groupStep.node.inputs[0]!;
    const state: GroupNormState = { eps: core.eps, groups: grouped[2]!, grouped, back };
    return { region: region.steps, step: fusedStep(kernel, state, region.steps, order, [x, tail.gamma, tail.beta], y) };
  },
};
