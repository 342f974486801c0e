import { madd } from './simd';
import { exp2NonPositive, maxLanes, sumLanes } from './math';

// Fused attention: out = softmax(scale * Q·Kᵀ + mask) · V, computed per
// query tile with an online softmax (running max m and sum l per query row,
// the output accumulator rescaled when the max grows), so the T x S score
// matrix never exists: only a 4 x KB block of it at a time.
//
// Layouts (last dim contiguous, element strides derived here):
//   0 BTNH: q [B,T,N,d], k [B,S,KN,d], v [B,S,KN,dv], out [B,T,N,dv]
//           (the odml.scaled_dot_product_attention composite's layout)
//   1 BNTH: q [B,N,T,d], k [B,KN,S,d], v [B,KN,S,dv], out [B,N,T,dv]
//           (heads split out, as [B·N, T, d] batched matmuls see them)
// Query head n reads key/value head n / (N / KN).
//
// Scores live in the log2 domain: Q is pre-multiplied by scale·log2(e) and
// the mask by log2(e), so the softmax needs only 2^x.
//
// Work items are (b, n, query tile) in that order, split into contiguous
// ranges over threads. Each output row's arithmetic depends only on its own
// query row and the fixed key-block order, so any thread count gives the
// same bits.
//
// Per-thread scratch (its size: attentionScratchBytes, which ../attention.ts calls):
//   kPack  ceil(S/8) panels of d rows x 8 keys (keys past S are zero)
//   vPack  S8 rows of dv8 floats (S8 = S rounded up to 8, dv8 likewise; zero padded)
//   qTile  TQ rows of d floats, scaled
//   oTile  TQ rows of dv8 floats, the unnormalised output
//   rowM, rowL  TQ floats each: running max and sum
//   scores 4 rows of KB floats

/** Query rows per work item. */
export const TQ: i32 = 64;
/** Keys per block: a 4 x KB score block plus KB packed keys and values stay in L1. */
export const KB: i32 = 64;

const LOG2E: f32 = 1.4426950408889634;

// @ts-ignore: decorator
@inline
function roundUp(x: i32, m: i32): i32 {
  return ((x + m - 1) / m) * m;
}

/** Scores for 4 query rows x 8 keys: s[r][j] = q[r] . k[j] over d. */
// @ts-ignore: decorator
@inline
function scoreTile(q: usize, qRowBytes: usize, kp: usize, d: i32, out: usize): void {
  let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
  let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
  let q0 = q, q1 = q + qRowBytes, q2 = q + 2 * qRowBytes, q3 = q + 3 * qRowBytes;
  const end = kp + (<usize>d << 5);
  for (; kp < end; kp += 32) {
    const b0 = v128.load(kp);
    const b1 = v128.load(kp, 16);
    let s = v128.load32_splat(q0);
    x00 = madd(s, b0, x00);
    x01 = madd(s, b1, x01);
    s = v128.load32_splat(q1);
    x10 = madd(s, b0, x10);
    x11 = madd(s, b1, x11);
    s = v128.load32_splat(q2);
    x20 = madd(s, b0, x20);
    x21 = madd(s, b1, x21);
    s = v128.load32_splat(q3);
    x30 = madd(s, b0, x30);
    x31 = madd(s, b1, x31);
    q0 += 4; q1 += 4; q2 += 4; q3 += 4;
  }
  const rowBytes: usize = <usize>KB << 2;
  v128.store(out, x00); v128.store(out, x01, 16);
  v128.store(out + rowBytes, x10); v128.store(out + rowBytes, x11, 16);
  v128.store(out + 2 * rowBytes, x20); v128.store(out + 2 * rowBytes, x21, 16);
  v128.store(out + 3 * rowBytes, x30); v128.store(out + 3 * rowBytes, x31, 16);
}

/** o[r][0..8) += sum_j p[r][j] * v[j][0..8) for 4 rows over n keys. */
// @ts-ignore: decorator
@inline
function valueTile(p: usize, vp: usize, vRowBytes: usize, n: i32, o: usize, oRowBytes: usize): void {
  const o0 = o, o1 = o + oRowBytes, o2 = o + 2 * oRowBytes, o3 = o + 3 * oRowBytes;
  let x00 = v128.load(o0), x01 = v128.load(o0, 16);
  let x10 = v128.load(o1), x11 = v128.load(o1, 16);
  let x20 = v128.load(o2), x21 = v128.load(o2, 16);
  let x30 = v128.load(o3), x31 = v128.load(o3, 16);
  const pRow: usize = <usize>KB << 2;
  const end = p + (<usize>n << 2);
  for (; p < end; p += 4) {
    const b0 = v128.load(vp);
    const b1 = v128.load(vp, 16);
    let s = v128.load32_splat(p);
    x00 = madd(s, b0, x00);
    x01 = madd(s, b1, x01);
    s = v128.load32_splat(p + pRow);
    x10 = madd(s, b0, x10);
    x11 = madd(s, b1, x11);
    s = v128.load32_splat(p + 2 * pRow);
    x20 = madd(s, b0, x20);
    x21 = madd(s, b1, x21);
    s = v128.load32_splat(p + 3 * pRow);
    x30 = madd(s, b0, x30);
    x31 = madd(s, b1, x31);
    vp += vRowBytes;
  }
  v128.store(o0, x00); v128.store(o0, x01, 16);
  v128.store(o1, x10); v128.store(o1, x11, 16);
  v128.store(o2, x20); v128.store(o2, x21, 16);
  v128.store(o3, x30); v128.store(o3, x31, 16);
}

/**
 * Online-softmax step for one query row over a block of scores (n8 entries,
 * the first `valid` real): adds the mask, applies causality, turns the
 * scores into 2^(s - m) in place, updates m and l and rescales the row's
 * output accumulator.
 */
function softmaxStep(
  sp: usize, valid: i32, n8: i32,
  maskRow: usize, maskStep: i32, causalLimit: i32,
  mPtr: usize, lPtr: usize, oRow: usize, dv8: i32,
): void {
  if (maskRow) {
    if (maskStep) {
      let j = 0;
      for (; j + 4 <= valid; j += 4) {
        const at = sp + (<usize>j << 2);
        v128.store(at, madd(v128.load(maskRow + (<usize>j << 2)), f32x4.splat(LOG2E), v128.load(at)));
      }
      for (; j < valid; j++) {
        const at = sp + (<usize>j << 2);
        store<f32>(at, load<f32>(maskRow + (<usize>j << 2)) * LOG2E + load<f32>(at));
      }
    } else {
      const m = load<f32>(maskRow) * LOG2E;
      for (let j = 0; j < valid; j++) {
        const at = sp + (<usize>j << 2);
        store<f32>(at, m + load<f32>(at));
      }
    }
  }
  // Keys past the causal limit or past S get -inf.
  for (let j = max(0, min(causalLimit, valid)); j < n8; j++) store<f32>(sp + (<usize>j << 2), -Infinity);

  let mx = v128.load(sp);
  for (let j = 4; j < n8; j += 4) mx = f32x4.pmax(mx, v128.load(sp + (<usize>j << 2)));
  const mOld = load<f32>(mPtr);
  const mNew = max(mOld, maxLanes(mx));
  // A row with nothing visible so far keeps m = -inf; subtracting 0 then keeps its p at ~0.
  const mUse: f32 = mNew == -Infinity ? 0 : mNew;
  const mUseV = f32x4.splat(mUse);
  let sum = f32x4.splat(0);
  for (let j = 0; j < n8; j += 4) {
    const at = sp + (<usize>j << 2);
    const p = exp2NonPositive(f32x4.sub(v128.load(at), mUseV));
    v128.store(at, p);
    sum = f32x4.add(sum, p);
  }
  // Exactly 1 when the max did not move (the polynomial's 2^0 is 1 + 1 ulp).
  const alpha: f32 = mOld == mUse ? 1 : f32x4.extract_lane(exp2NonPositive(f32x4.splat(mOld - mUse)), 0);
  store<f32>(mPtr, mNew);
  store<f32>(lPtr, load<f32>(lPtr) * alpha + sumLanes(sum));
  if (alpha != 1) {
    const a = f32x4.splat(alpha);
    const end = oRow + (<usize>dv8 << 2);
    for (let o = oRow; o < end; o += 16) v128.store(o, f32x4.mul(v128.load(o), a));
  }
}

/** Packs key/value head (b, kh): keys transposed into 8-key panels, values into zero-padded rows. */
function packHead(
  k: usize, v: usize, kRow: usize, vRow: usize, s: i32, d: i32, dv: i32, dv8: i32,
  kPack: usize, vPack: usize,
): void {
  const s8 = roundUp(s, 8);
  for (let j = 0; j < s8; j++) {
    const dst = kPack + ((<usize>(j >> 3) * <usize>d) << 5) + (<usize>(j & 7) << 2);
    if (j < s) {
      const src = k + <usize>j * kRow;
      for (let h = 0; h < d; h++) store<f32>(dst + (<usize>h << 5), load<f32>(src + (<usize>h << 2)));
    } else {
      for (let h = 0; h < d; h++) store<f32>(dst + (<usize>h << 5), 0);
    }
    const vd = vPack + ((<usize>j * <usize>dv8) << 2);
    const vs = v + <usize>j * vRow;
    for (let h = 0; h < dv8; h++) store<f32>(vd + (<usize>h << 2), j < s && h < dv ? load<f32>(vs + (<usize>h << 2)) : 0);
  }
}

/** Bytes of scratch one thread needs for these sizes (a multiple of 16). */
export function attentionScratchBytes(s: i32, d: i32, dv: i32): i32 {
  const s8 = roundUp(s, 8), dv8 = roundUp(dv, 8);
  return 4 * (s8 * d + s8 * dv8 + TQ * d + TQ * dv8 + 2 * TQ + 4 * KB);
}

/**
 * Attention for thread `thread` of `threads`. Pointers are byte offsets;
 * `mask` is 0 or an additive mask read at b*maskB + n*maskN + t*maskT +
 * s*maskS (element strides; maskS is 0 or 1); `causal` hides keys s > t;
 * `scratch` holds `threads` areas of `scratchStride` bytes (16-aligned).
 */
export function attention(
  q: usize, k: usize, v: usize, out: usize,
  mask: usize, maskB: i32, maskN: i32, maskT: i32, maskS: i32,
  batch: i32, t: i32, s: i32, heads: i32, kvHeads: i32, d: i32, dv: i32,
  layout: i32, causal: i32, scale: f32,
  scratch: usize, scratchStride: i32,
  thread: i32, threads: i32,
): void {
  const s8 = roundUp(s, 8), dv8 = roundUp(dv, 8);
  const base = scratch + <usize>thread * <usize>scratchStride;
  const kPack = base;
  const vPack = kPack + ((<usize>s8 * <usize>d) << 2);
  const qTile = vPack + ((<usize>s8 * <usize>dv8) << 2);
  const oTile = qTile + ((<usize>TQ * <usize>d) << 2);
  const rowM = oTile + ((<usize>TQ * <usize>dv8) << 2);
  const rowL = rowM + (<usize>TQ << 2);
  const scores = rowL + (<usize>TQ << 2);

  // Element strides of (batch, sequence position, head) per tensor.
  const btnh = layout == 0;
  const qB = <usize>t * heads * d, qT = btnh ? <usize>heads * d : <usize>d, qN = btnh ? <usize>d : <usize>t * d;
  const kB = <usize>s * kvHeads * d, kS = btnh ? <usize>kvHeads * d : <usize>d, kN = btnh ? <usize>d : <usize>s * d;
  const vB = <usize>s * kvHeads * dv, vS = btnh ? <usize>kvHeads * dv : <usize>dv, vN = btnh ? <usize>dv : <usize>s * dv;
  const oB = <usize>t * heads * dv, oT = btnh ? <usize>heads * dv : <usize>dv, oN = btnh ? <usize>dv : <usize>t * dv;
  const group = heads / kvHeads;
  const qScale = scale * LOG2E;

  const tiles = (t + TQ - 1) / TQ;
  const items = batch * heads * tiles;
  const i0 = <i32>((<i64>thread * items) / threads), i1 = <i32>((<i64>(thread + 1) * items) / threads);
  let packed = -1;
  for (let item = i0; item < i1; item++) {
    const tile = item % tiles;
    const n = (item / tiles) % heads;
    const b = item / (tiles * heads);
    const kh = n / group;
    if (packed != b * kvHeads + kh) {
      packed = b * kvHeads + kh;
      packHead(
        k + ((<usize>b * kB + <usize>kh * kN) << 2), v + ((<usize>b * vB + <usize>kh * vN) << 2),
        kS << 2, vS << 2, s, d, dv, dv8, kPack, vPack,
      );
    }
    const t0 = tile * TQ;
    const rows = min(TQ, t - t0);
    const rows4 = roundUp(rows, 4);

    // Scaled query rows (zero rows pad to a multiple of 4), fresh accumulators.
    const qSrc = q + ((<usize>b * qB + <usize>n * qN + <usize>t0 * qT) << 2);
    for (let r = 0; r < rows4; r++) {
      const dst = qTile + ((<usize>r * d) << 2);
      const src = qSrc + ((<usize>r * qT) << 2);
      for (let h = 0; h < d; h++) store<f32>(dst + (<usize>h << 2), r < rows ? load<f32>(src + (<usize>h << 2)) * qScale : 0);
      store<f32>(rowM + (<usize>r << 2), -Infinity);
      store<f32>(rowL + (<usize>r << 2), 0);
    }
    memory.fill(oTile, 0, (<usize>rows4 * <usize>dv8) << 2);

    // With causality, key blocks past the tile's last row are skipped.
    const sEnd = causal ? min(s, t0 + rows) : s;
    for (let s0 = 0; s0 < sEnd; s0 += KB) {
      const valid = min(KB, s - s0);
      const n8 = roundUp(valid, 8);
      const kBlock = kPack + ((<usize>(s0 >> 3) * <usize>d) << 5);
      const vBlock = vPack + ((<usize>s0 * <usize>dv8) << 2);
      for (let r = 0; r < rows4; r += 4) {
        const qRows = qTile + ((<usize>r * d) << 2);
        for (let j = 0; j < n8; j += 8) {
          scoreTile(qRows, <usize>d << 2, kBlock + ((<usize>(j >> 3) * <usize>d) << 5), d, scores + (<usize>j << 2));
        }
        for (let i = 0; i < 4; i++) {
          const row = r + i;
          // Padding rows reuse the last real row's mask.
          const tt = t0 + min(row, rows - 1);
          const maskRow = mask
            ? mask + ((<usize>b * maskB + <usize>n * maskN + <usize>tt * maskT + <usize>s0 * maskS) << 2)
            : 0;
          softmaxStep(
            scores + ((<usize>i * KB) << 2), valid, n8,
            maskRow, maskS, causal ? t0 + row + 1 - s0 : valid,
            rowM + (<usize>row << 2), rowL + (<usize>row << 2),
            oTile + ((<usize>row * dv8) << 2), dv8,
          );
        }
        const oRows = oTile + ((<usize>r * dv8) << 2);
        for (let c = 0; c < dv8; c += 8) {
          valueTile(scores, vBlock + (<usize>c << 2), <usize>dv8 << 2, n8, oRows + (<usize>c << 2), <usize>dv8 << 2);
        }
      }
    }

    // out = o / l; a row that saw no key (all masked) has l = 0 and gives NaN, as PyTorch does.
    const oDst = out + ((<usize>b * oB + <usize>n * oN + <usize>t0 * oT) << 2);
    for (let r = 0; r < rows; r++) {
      const l = load<f32>(rowL + (<usize>r << 2));
      const seen = load<f32>(rowM + (<usize>r << 2)) != -Infinity;
      const src = oTile + ((<usize>r * dv8) << 2);
      const dst = oDst + ((<usize>r * oT) << 2);
      for (let h = 0; h < dv; h++) store<f32>(dst + (<usize>h << 2), seen ? load<f32>(src + (<usize>h << 2)) / l : NaN);
    }
  }
}
