/**
 * The part layer norm and group norm share, as converters write it:
 *
 *   mean = MEAN(x, axes, keep_dims)        d = SUB(x, mean)
 *   sq   = MUL(d, d) | SQUARED_DIFFERENCE(x, mean)
 *   var  = MEAN(sq, axes, keep_dims)       rs = RSQRT(ADD(var, eps))
 *   n    = MUL(d, rs)
 *
 * and the optional affine tail y = n * gamma + beta with per-channel
 * constants.
 */
import type { RuntimeTensor } from '../runtime-tensor.js';
import { bothOrders, constantInts, noActivation, scalarConstant, type Region } from './graph-index.js';

export interface NormCore {
  /** The tensor normalised (the MEAN/SUB input). */
  x: RuntimeTensor;
  /** Reduced axes, as written (possibly negative). */
  axes: number[];
  eps: number;
}

function meanOf(region: Region, t: RuntimeTensor | undefined): { x: RuntimeTensor; axes: number[] } | undefined {
  const s = region.take(t, 'MEAN');
  const axes = constantInts(s?.node.inputs[1]);
  const x = s?.node.inputs[0];
  if (!s || !axes || !x || !(s.node.options as { keepDims?: boolean }).keepDims) return undefined;
  return { x, axes };
}

/** Matches the core ending in `n` (the MUL(d, rs) output). */
export function matchNormCore(region: Region, n: RuntimeTensor): NormCore | undefined {
  return region.attempt(() => {
    const mul = region.take(n, 'MUL');
    if (!mul || !noActivation(mul)) return undefined;
    return region.firstOf(bothOrders(mul), ([d, rs]) => {
      const rsqrt = region.take(rs, 'RSQRT');
      const add = region.take(rsqrt?.node.inputs[0], 'ADD');
      if (!add || !noActivation(add)) return undefined;
      return region.firstOf(bothOrders(add), ([v, e]) => {
        const eps = scalarConstant(e);
        const variance = meanOf(region, v);
        const sub = region.take(d, 'SUB');
        if (eps === undefined || !variance || !sub || !noActivation(sub)) return undefined;
        const [x, m] = sub.node.inputs;
        const mean = meanOf(region, m);
        if (!x || !mean || mean.x !== x || mean.axes.join() !== variance.axes.join()) return undefined;
        const sq = region.take(variance.x, 'MUL', 'SQUARED_DIFFERENCE');
        if (!sq || !noActivation(sq)) return undefined;
        const [a, b] = sq.node.inputs;
        const squaresD = sq.node.op === 'MUL' && a === d && b === d;
        const squaresXMean = sq.node.op === 'SQUARED_DIFFERENCE' && ((a === x && b === m) || (a === m && b === x));
        return squaresD || squaresXMean ? { x, axes: mean.axes, eps } : undefined;
      });
    });
  });
}

export interface AffineTail {
  /** The tensor before the affine part. */
  inner: RuntimeTensor;
  gamma?: RuntimeTensor;
  beta?: RuntimeTensor;
}

const perChannel = (t: RuntimeTensor | undefined): t is RuntimeTensor =>
  t !== undefined && t.isConstant && t.type === 'FLOAT32' && t.shape.filter((d) => d !== 1).length <= 1 && t.size > 1;

/** Peels y = inner * gamma + beta (either part optional) off the end of a match. */
export function peelAffine(region: Region, y: RuntimeTensor): AffineTail {
  const scaled = (p: RuntimeTensor): { inner: RuntimeTensor; gamma: RuntimeTensor } | undefined =>
    region.attempt(() => {
      const mul = region.take(p, 'MUL');
      if (!mul || !noActivation(mul)) return undefined;
      return region.firstOf(bothOrders(mul), ([inner, gamma]) => (inner && perChannel(gamma) ? { inner, gamma } : undefined));
    });
  const shifted = region.attempt(() => {
    const add = region.take(y, 'ADD');
    if (!add || !noActivation(add)) return undefined;
    return region.firstOf(bothOrders(add), ([p, beta]) => (p && perChannel(beta) ? { p, beta } : undefined));
  });
  if (shifted) return { ...(scaled(shifted.p) ?? { inner: shifted.p }), beta: shifted.beta };
  return scaled(y) ?? { inner: y };
}
