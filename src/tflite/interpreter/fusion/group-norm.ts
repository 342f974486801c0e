/**
 * Group norm on channels-last x as converters write it, in two forms:
 *
 * - grouped: x reshaped to [N, S, G, C/G], the normalisation core over
 *   axes (1, 3), reshaped back, then optional per-channel gamma/beta;
 * - channel statistics (our converter, so H and W may be dynamic): on NHWC
 *   x, mean = groupMean(MEAN(x, [1, 2])), d = x - mean, var =
 *   groupMean(MEAN(d * d, [1, 2])), y = d * (RSQRT(var + eps) * gamma) +
 *   beta, where groupMean(t) = RESHAPE(GATHER(MEAN(RESHAPE(t, [N, G, C/G]),
 *   [2]), channel_group, axis 1), [N, 1, 1, C]).
 *
 * A SiLU right after (y * LOGISTIC(y), SD's ResNet blocks) joins the fused
 * node. Runs as FUSED_GROUP_NORM on the reference groupNorm kernel.
 */
import { groupNorm } from '../../../kernels/reference/group-norm.js';
import { input, output, setShape, store } from '../../ops/node-access.js';
import { resolveNewShape } from '../../ops/reshape.js';
import { floatOperand } from '../../ops/shared.js';
import type { Step } from '../subgraph-executor.js';
import type { RuntimeTensor } from '../runtime-tensor.js';
import { bothOrders, constantInts, noActivation, Region, scalarConstant, type GraphIndex } from './graph-index.js';
import { fusedStep, type FusedKernel } from './fused-op.js';
import { matchNormCore, peelAffine } from './normalization-core.js';
import type { FusionPattern } from './pattern.js';

export interface GroupNormState {
  eps: number;
  groups: number;
  silu: boolean;
  /** Grouped form: the shapes the two RESHAPEs ask for (may hold -1); checked against x at each prepare. */
  grouped?: number[];
  back?: number[];
  /** Channel-statistics form: the [N, G, C/G] reshape of the per-channel statistics (N may be -1). */
  statsShape?: number[];
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

const kernel: FusedKernel<GroupNormState> = {
  name: 'FUSED_GROUP_NORM',
  prepare(node, s) {
    const x = input(node, 0);
    const n = x.shape[0]!;
    const c = x.shape[x.shape.length - 1]!;
    if (x.type !== 'FLOAT32' || x.shape.length < 2 || n === 0 || c % s.groups !== 0) return false;
    if (s.statsShape) {
      // A -1 batch (a converter's dynamic batch) is x's.
      const stats = s.statsShape.map((d, i) => (i === 0 && d === -1 ? n : d));
      if (x.shape.length !== 4 || !same(stats, [n, s.groups, c / s.groups])) return false;
    } else {
      let grouped: number[];
      let back: number[];
      try {
        grouped = resolveNewShape(x.size, s.grouped!, 'group norm');
        back = resolveNewShape(x.size, s.back!, 'group norm');
      } catch {
        return false; // the original RESHAPEs report it
      }
      if (!same(grouped, [n, x.size / (n * c), s.groups, c / s.groups]) || !same(back, x.shape)) return false;
    }
    if (!node.inputs.slice(1).every((t) => !t || t.size === c)) return false;
    setShape(output(node), x.shape);
    return true;
  },
  run(node, s) {
    const x = input(node, 0);
    const c = x.shape[x.shape.length - 1]!;
    const vec = (i: number, fill: number) => ({ data: node.inputs[i] ? floatOperand(node.inputs[i]!).data : new Float32Array(c).fill(fill), shape: [c] });
    store(output(node), groupNorm(x.asTensor(), vec(1, 1), vec(2, 0), { groups: s.groups, eps: s.eps, silu: s.silu }));
  },
};

function requestedShape(reshape: Step): number[] | undefined {
  return reshape.node.inputs[1] ? constantInts(reshape.node.inputs[1]) : (reshape.node.options as { newShape?: number[] }).newShape;
}

/** Grouped form, ending at `y`. */
function matchGrouped(region: Region, y: RuntimeTensor): { state: GroupNormState; inputs: (RuntimeTensor | undefined)[] } | undefined {
  const tail = peelAffine(region, y);
  const backStep = region.take(tail.inner, 'RESHAPE');
  const core = backStep?.node.inputs[0] ? matchNormCore(region, backStep.node.inputs[0]) : undefined;
  const groupStep = core ? region.take(core.x, 'RESHAPE') : undefined;
  if (!backStep || !core || !groupStep) return undefined;
  const grouped = requestedShape(groupStep);
  const back = requestedShape(backStep);
  const axes = core.axes.map((a) => (a < 0 ? a + 4 : a)).sort();
  if (!grouped || !back || grouped.length !== 4 || !(grouped[2]! > 0) || axes.join() !== '1,3') return undefined;
  const state: GroupNormState = { eps: core.eps, groups: grouped[2]!, silu: false, grouped, back };
  return { state, inputs: [groupStep.node.inputs[0]!, tail.gamma, tail.beta] };
}

/** groupMean(MEAN(of, [1, 2])) as in the channel-statistics form; returns `of` and the [N, G, C/G] shape. */
function groupMeanOfSpatialMean(region: Region, t: RuntimeTensor | undefined): { of: RuntimeTensor; statsShape: number[] } | undefined {
  return region.attempt(() => {
    const back = region.take(t, 'RESHAPE');
    const gather = region.take(back?.node.inputs[0], 'GATHER');
    const groupMean = region.take(gather?.node.inputs[0], 'MEAN');
    const grouped = region.take(groupMean?.node.inputs[0], 'RESHAPE');
    const spatial = region.take(grouped?.node.inputs[0], 'MEAN');
    if (!back || !gather || !groupMean || !grouped || !spatial) return undefined;
    const statsShape = requestedShape(grouped);
    const groupAxes = constantInts(groupMean.node.inputs[1]);
    const spatialAxes = constantInts(spatial.node.inputs[1])?.map((a) => (a < 0 ? a + 4 : a)).sort();
    const channelGroup = constantInts(gather.node.inputs[1]);
    const of = spatial.node.inputs[0];
    if (!statsShape || statsShape.length !== 3 || !groupAxes || !spatialAxes || !channelGroup || !of) return undefined;
    const [, groups, perGroup] = statsShape as [number, number, number];
    const gatherOptions = gather.node.options as { axis?: number; batchDims?: number };
    const ok = (groupAxes.join() === '2' || groupAxes.join() === '-1') && spatialAxes.join() === '1,2'
      && (spatial.node.options as { keepDims?: boolean }).keepDims === true && gatherOptions.axis === 1 && !gatherOptions.batchDims
      && groups > 0 && perGroup > 0 && channelGroup.length === groups * perGroup && channelGroup.every((g, i) => g === Math.floor(i / perGroup));
    return ok ? { of, statsShape } : undefined;
  });
}

/** Channel-statistics form, ending at `y`. */
function matchChannelStats(region: Region, y: RuntimeTensor): { state: GroupNormState; inputs: (RuntimeTensor | undefined)[] } | undefined {
  return region.attempt(() => {
    const shift = region.take(y, 'ADD');
    if (!shift || !noActivation(shift)) return undefined;
    return region.firstOf(bothOrders(shift), ([scaled, beta]) => {
      const mul = beta?.isConstant ? region.take(scaled, 'MUL') : undefined;
      if (!mul || !noActivation(mul)) return undefined;
      return region.firstOf(bothOrders(mul), ([d, scale]) => {
        const scaleMul = region.take(scale, 'MUL');
        if (!scaleMul || !noActivation(scaleMul)) return undefined;
        return region.firstOf(bothOrders(scaleMul), ([rs, gamma]) => {
          const rsqrt = gamma?.isConstant ? region.take(rs, 'RSQRT') : undefined;
          const add = region.take(rsqrt?.node.inputs[0], 'ADD');
          if (!add || !noActivation(add)) return undefined;
          return region.firstOf(bothOrders(add), ([v, e]) => {
            const eps = scalarConstant(e);
            const variance = groupMeanOfSpatialMean(region, v);
            const square = region.take(variance?.of, 'MUL');
            const sub = region.take(d, 'SUB');
            if (eps === undefined || !variance || !square || !sub || square.node.inputs[0] !== d || square.node.inputs[1] !== d) return undefined;
            if (!noActivation(sub)) return undefined;
            const [x, m] = sub.node.inputs;
            const mean = groupMeanOfSpatialMean(region, m);
            if (!x || !mean || mean.of !== x || mean.statsShape.join() !== variance.statsShape.join()) return undefined;
            const state: GroupNormState = { eps, groups: mean.statsShape[1]!, silu: false, statsShape: mean.statsShape };
            return { state, inputs: [x, gamma, beta] };
          });
        });
      });
    });
  });
}

/** y * LOGISTIC(y) right after the norm, where y feeds nothing else: returns the SiLU output. */
function absorbSilu(region: Region, graph: GraphIndex, y: RuntimeTensor): RuntimeTensor | undefined {
  const readers = graph.readersOf(y);
  if (graph.isGraphOutput(y) || readers.length !== 2) return undefined;
  const logistic = readers.find((r) => r.node.op === 'LOGISTIC');
  const mul = readers.find((r) => r.node.op === 'MUL');
  const s = logistic?.node.outputs[0];
  if (!logistic || !mul || !s || !noActivation(mul)) return undefined;
  const [a, b] = mul.node.inputs;
  if (!((a === y && b === s) || (a === s && b === y))) return undefined;
  region.steps.add(logistic);
  region.steps.add(mul);
  return mul.node.outputs[0];
}

export const groupNormPattern: FusionPattern = {
  name: 'group norm',
  match(anchor, graph, order) {
    const y = anchor.node.outputs[0];
    if (!y || anchor.node.outputs.length !== 1) return undefined;
    const region = new Region(graph);
    const found = region.attempt(() => matchGrouped(region, y)) ?? matchChannelStats(region, y);
    if (!found || !region.steps.has(anchor)) return undefined;
    const siluOut = region.attempt(() => {
      const out = absorbSilu(region, graph, y);
      return out && region.sealed(out) ? out : undefined;
    });
    const result = siluOut ?? y;
    if (!region.sealed(result)) return undefined;
    const state = { ...found.state, silu: siluOut !== undefined };
    return { region: region.steps, step: fusedStep(kernel, state, region.steps, order, found.inputs, result) };
  },
};
