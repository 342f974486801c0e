import { madd } from './simd';
import {
  constant, siluV, sumLanes, K_E2, K_E3, K_E4, K_E5, K_E6, K_EXP_HI, K_EXP_LO, K_HALF, K_LOG2E, K_MAGIC,
  K_NEG_LN2_HI, K_NEG_LN2_LO, K_ONE, K_TWO,
} from './math';

// Group norm (channels last, [B, P, C] with P spatial positions) in three
// jobs, and layer norm over the last axis.
//
// Group norm statistics must not depend on the thread count, so the sums are
// taken over fixed chunks of GN_CHUNK positions (any thread may do a chunk),
// one partial per chunk and channel, then combined in float64 in chunk
// order. Each partial sums x - shift with shift = x[b, 0, c], so the squares
// do not lose the variance to a large mean. The normalisation then reads x
// a second time: two passes over memory in all.

/** Positions per statistics chunk. */
export const GN_CHUNK: i32 = 256;

/**
 * Partial sums of one chunk: out = [sum(x - shift) for each c, sum((x - shift)^2)
 * for each c], running over the rows in order. The rows are read whole and
 * in sequence (DRAM streams them well; reading channel strips down the rows
 * ran at a fraction of the bandwidth), with the sums kept in `out`, in L1.
 */
function chunkSums(x: usize, c: i32, rows: i32, shift: usize, out: usize): void {
  const rowBytes = <usize>c << 2;
  const qOut = out + rowBytes;
  memory.fill(out, 0, rowBytes << 1);
  const end4 = <usize>(c & ~3) << 2;
  let p = x;
  for (let r = 0; r < rows; r++) {
    let o: usize = 0;
    for (; o < end4; o += 16) {
      const d = f32x4.sub(v128.load(p + o), v128.load(shift + o));
      v128.store(out + o, f32x4.add(v128.load(out + o), d));
      v128.store(qOut + o, madd(d, d, v128.load(qOut + o)));
    }
    for (; o < rowBytes; o += 4) {
      const d = load<f32>(p + o) - load<f32>(shift + o);
      store<f32>(out + o, load<f32>(out + o) + d);
      store<f32>(qOut + o, load<f32>(qOut + o) + d * d);
    }
    p += rowBytes;
  }
}

/** Job 1: partial sums for every (sample, chunk); `partials` holds B·ceil(P/GN_CHUNK)·2C floats. */
export function groupNormStats(x: usize, batch: i32, positions: i32, c: i32, partials: usize, thread: i32, threads: i32): void {
  const chunks = (positions + GN_CHUNK - 1) / GN_CHUNK;
  const items = batch * chunks;
  const i0 = (thread * items) / threads, i1 = ((thread + 1) * items) / threads;
  const sampleBytes = (<usize>positions * <usize>c) << 2;
  for (let item = i0; item < i1; item++) {
    const b = item / chunks, k = item % chunks;
    const sample = x + <usize>b * sampleBytes;
    const p0 = k * GN_CHUNK;
    chunkSums(
      sample + ((<usize>p0 * <usize>c) << 2), c, min(GN_CHUNK, positions - p0),
      sample, partials + ((<usize>item * <usize>c) << 3),
    );
  }
}

/**
 * Job 2: per (sample, group) mean and 1/std from the partials, written as
 * per-channel coefficients coef[b] = [mean of c's group (C), gamma[c]/std (C), beta[c] (C)].
 */
export function groupNormReduce(
  x: usize, gamma: usize, beta: usize, batch: i32, positions: i32, c: i32, groups: i32, eps: f32,
  partials: usize, coef: usize, thread: i32, threads: i32,
): void {
  const chunks = (positions + GN_CHUNK - 1) / GN_CHUNK;
  const perGroup = c / groups;
  const items = batch * groups;
  const i0 = (thread * items) / threads, i1 = ((thread + 1) * items) / threads;
  const n = <f64>positions;
  for (let item = i0; item < i1; item++) {
    const b = item / groups, g = item % groups;
    const sample = x + ((<usize>b * <usize>positions * <usize>c) << 2);
    const part = partials + ((<usize>b * <usize>chunks * <usize>c) << 3);
    const bc = coef + ((<usize>b * 3 * <usize>c) << 2);
    // Channel means and squared deviations (Chan et al.'s pairwise combination).
    let meanSum: f64 = 0;
    for (let i = 0; i < perGroup; i++) {
      const ch = g * perGroup + i;
      let s: f64 = 0;
      for (let k = 0; k < chunks; k++) s += <f64>load<f32>(part + ((<usize>k * <usize>c) << 3) + (<usize>ch << 2));
      meanSum += <f64>load<f32>(sample + (<usize>ch << 2)) + s / n;
    }
    const mean = meanSum / <f64>perGroup;
    let m2: f64 = 0;
    for (let i = 0; i < perGroup; i++) {
      const ch = g * perGroup + i;
      let s: f64 = 0, q: f64 = 0;
      for (let k = 0; k < chunks; k++) {
        const at = part + ((<usize>k * <usize>c) << 3) + (<usize>ch << 2);
        s += <f64>load<f32>(at);
        q += <f64>load<f32>(at + (<usize>c << 2));
      }
      const channelMean = <f64>load<f32>(sample + (<usize>ch << 2)) + s / n;
      const dm = channelMean - mean;
      m2 += max(q - (s * s) / n, 0) + n * dm * dm;
    }
    const invStd = 1 / Math.sqrt(m2 / (n * <f64>perGroup) + <f64>eps);
    for (let i = 0; i < perGroup; i++) {
      const o = <usize>(g * perGroup + i) << 2;
      store<f32>(bc + o, <f32>mean);
      store<f32>(bc + (<usize>c << 2) + o, <f32>(<f64>load<f32>(gamma + o) * invStd));
      store<f32>(bc + (<usize>c << 3) + o, load<f32>(beta + o));
    }
  }
}

/** Job 3: out = (x - mean) * (gamma / std) + beta, then SiLU when `silu`; rows split over threads. */
export function groupNormApply(
  x: usize, out: usize, batch: i32, positions: i32, c: i32, silu: i32, coef: usize, thread: i32, threads: i32,
): void {
  const rows = batch * positions;
  const r0 = <i32>((<i64>thread * rows) / threads), r1 = <i32>((<i64>(thread + 1) * rows) / threads);
  const rowBytes = <usize>c << 2;
  const c4 = c & ~3;
  // siluV's constants, loaded once (math.ts: V8 13.6 would rebuild literals at every use).
  const lo = constant(K_EXP_LO), hi = constant(K_EXP_HI), log2e = constant(K_LOG2E), magic = constant(K_MAGIC);
  const negLn2Hi = constant(K_NEG_LN2_HI), negLn2Lo = constant(K_NEG_LN2_LO);
  const e6 = constant(K_E6), e5 = constant(K_E5), e4 = constant(K_E4), e3 = constant(K_E3), e2 = constant(K_E2);
  const one = constant(K_ONE), half = constant(K_HALF), two = constant(K_TWO);
  for (let r = r0; r < r1; r++) {
    const bc = coef + <usize>(r / positions) * 3 * rowBytes;
    const src = x + <usize>r * rowBytes, dst = out + <usize>r * rowBytes;
    let o: usize = 0;
    const end4 = <usize>c4 << 2;
    if (silu) {
      for (; o < end4; o += 16) {
        const y = madd(f32x4.sub(v128.load(src + o), v128.load(bc + o)), v128.load(bc + rowBytes + o), v128.load(bc + 2 * rowBytes + o));
        v128.store(dst + o, siluV(y, lo, hi, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two));
      }
    } else {
      for (; o < end4; o += 16) {
        const y = madd(f32x4.sub(v128.load(src + o), v128.load(bc + o)), v128.load(bc + rowBytes + o), v128.load(bc + 2 * rowBytes + o));
        v128.store(dst + o, y);
      }
    }
    for (; o < rowBytes; o += 4) {
      const y = (load<f32>(src + o) - load<f32>(bc + o)) * load<f32>(bc + rowBytes + o) + load<f32>(bc + 2 * rowBytes + o);
      store<f32>(dst + o, silu ? f32x4.extract_lane(
        siluV(f32x4.splat(y), lo, hi, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two), 0,
      ) : y);
    }
  }
}

/**
 * Sum of n floats at p, or of their squared deviations from `mean` when
 * `squares`: four accumulators over 16-float steps (independent add chains),
 * then 4-float steps into the first, the lanes, and the tail, in that order.
 */
// @ts-ignore: decorator
@inline
function rowSum(p: usize, n: i32, squares: bool, mean: f32): f32 {
  const mv = f32x4.splat(mean);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const end16 = p + (<usize>(n & ~15) << 2), end4 = p + (<usize>(n & ~3) << 2), end = p + (<usize>n << 2);
  let q = p;
  for (; q < end16; q += 64) {
    if (squares) {
      const d0 = f32x4.sub(v128.load(q), mv), d1 = f32x4.sub(v128.load(q, 16), mv);
      const d2 = f32x4.sub(v128.load(q, 32), mv), d3 = f32x4.sub(v128.load(q, 48), mv);
      a0 = madd(d0, d0, a0); a1 = madd(d1, d1, a1); a2 = madd(d2, d2, a2); a3 = madd(d3, d3, a3);
    } else {
      a0 = f32x4.add(a0, v128.load(q)); a1 = f32x4.add(a1, v128.load(q, 16));
      a2 = f32x4.add(a2, v128.load(q, 32)); a3 = f32x4.add(a3, v128.load(q, 48));
    }
  }
  for (; q < end4; q += 16) {
    if (squares) {
      const d = f32x4.sub(v128.load(q), mv);
      a0 = madd(d, d, a0);
    } else {
      a0 = f32x4.add(a0, v128.load(q));
    }
  }
  let s = sumLanes(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; q < end; q += 4) {
    const x = load<f32>(q);
    s += squares ? (x - mean) * (x - mean) : x;
  }
  return s;
}

/**
 * Layer norm over rows of n floats: out = (x - mean) / sqrt(var + eps) *
 * gamma + beta (gamma, beta: n floats, or 0 for 1 and 0). Two passes over
 * each row (mean, then squared deviations); rows split over threads.
 */
export function layerNorm(
  x: usize, out: usize, gamma: usize, beta: usize, rows: i32, n: i32, eps: f32, thread: i32, threads: i32,
): void {
  const r0 = <i32>((<i64>thread * rows) / threads), r1 = <i32>((<i64>(thread + 1) * rows) / threads);
  const rowBytes = <usize>n << 2;
  const n4 = n & ~3;
  for (let r = r0; r < r1; r++) {
    const src = x + <usize>r * rowBytes, dst = out + <usize>r * rowBytes;
    const mean = rowSum(src, n, false, 0) / <f32>n;
    const mv = f32x4.splat(mean);
    const sq = rowSum(src, n, true, mean);
    const inv = <f32>(1 / Math.sqrt(<f64>(sq / <f32>n) + <f64>eps));
    const iv = f32x4.splat(inv);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      let y = f32x4.mul(f32x4.sub(v128.load(src + o), mv), iv);
      if (gamma) y = f32x4.mul(y, v128.load(gamma + o));
      if (beta) y = f32x4.add(y, v128.load(beta + o));
      v128.store(dst + o, y);
    }
    for (let i = n4; i < n; i++) {
      const o = <usize>i << 2;
      let y = (load<f32>(src + o) - mean) * inv;
      if (gamma) y *= load<f32>(gamma + o);
      if (beta) y += load<f32>(beta + o);
      store<f32>(dst + o, y);
    }
  }
}
