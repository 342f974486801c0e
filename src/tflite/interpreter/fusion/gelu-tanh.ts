/**
 * GELU in its tanh form written as builtin ops (jax / TF lower it so):
 * x * (0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))), or with the
 * 0.5 applied to x first. Runs as FUSED_GELU (the GELU kernel, approximate).
 */
import { mapElements, geluScalar } from '../../../kernels/reference/activation.js';
import { input, output, setShape, store } from '../../ops/node-access.js';
import type { RuntimeTensor } from '../runtime-tensor.js';
import { bothOrders, near, noActivation, Region, scalarConstant } from './graph-index.js';
import { fusedStep, type FusedKernel } from './fused-op.js';
import type { FusionPattern } from './pattern.js';

const kernel: FusedKernel<null> = {
  name: 'FUSED_GELU',
  prepare(node) {
    if (input(node, 0).type !== 'FLOAT32') return false;
    setShape(output(node), input(node, 0).shape);
    return true;
  },
  run(node) {
    store(output(node), mapElements(input(node, 0).asTensor(), (v) => geluScalar(v, true)));
  },
};

/** `t` = op(a, k) with k a scalar constant near `value` (either order); returns a. */
function timesConstant(region: Region, t: RuntimeTensor | undefined, op: 'MUL' | 'ADD', value: number): RuntimeTensor | undefined {
  return region.attempt(() => {
    const s = region.take(t, op);
    if (!s || !noActivation(s)) return undefined;
    return region.firstOf(bothOrders(s), ([a, k]) => (a && near(scalarConstant(k), value) ? a : undefined));
  });
}

/** tanh(sqrt(2/pi) * (x + 0.044715 x^3)) = `t`; returns x. */
function tanhArgument(region: Region, t: RuntimeTensor | undefined): RuntimeTensor | undefined {
  return region.attempt(() => {
    const tanh = region.take(t, 'TANH');
    const inner = timesConstant(region, tanh?.node.inputs[0], 'MUL', Math.sqrt(2 / Math.PI));
    const add = region.take(inner, 'ADD');
    if (!add || !noActivation(add)) return undefined;
    return region.firstOf(bothOrders(add), ([x, cubic]) => {
      const cube = timesConstant(region, cubic, 'MUL', 0.044715);
      const outer = region.take(cube, 'MUL');
      if (!x || !outer || !noActivation(outer)) return undefined;
      return region.firstOf(bothOrders(outer), ([sq, x1]) => {
        const square = region.take(sq, 'MUL');
        const ok = x1 === x && square && noActivation(square) && square.node.inputs[0] === x && square.node.inputs[1] === x;
        return ok ? x : undefined;
      });
    });
  });
}

export const geluTanhPattern: FusionPattern = {
  name: 'GELU (tanh)',
  match(anchor, graph, order) {
    const y = anchor.node.outputs[0];
    if (anchor.node.op !== 'MUL' || !y || !noActivation(anchor)) return undefined;
    const region = new Region(graph);
    region.steps.add(anchor);
    const x = region.firstOf(bothOrders(anchor), ([p, q]) => {
      // x * (0.5 * (1 + tanh(...)))
      const viaHalf = region.attempt(() => {
        const arg = tanhArgument(region, timesConstant(region, timesConstant(region, q, 'MUL', 0.5), 'ADD', 1));
        return arg && arg === p ? arg : undefined;
      });
      if (viaHalf) return viaHalf;
      // (0.5 * x) * (1 + tanh(...))
      return region.attempt(() => {
        const halfX = timesConstant(region, p, 'MUL', 0.5);
        const arg = tanhArgument(region, timesConstant(region, q, 'ADD', 1));
        return halfX && arg === halfX ? arg : undefined;
      });
    });
    if (!x || !region.sealed(y)) return undefined;
    return { region: region.steps, step: fusedStep(kernel, null, region.steps, order, [x], y) };
  },
};
