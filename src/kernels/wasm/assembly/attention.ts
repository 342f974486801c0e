import { madd } from './simd';
import { exp2NonPositive } from './math';

// Fused attention: out = softmax(scale * Q·Kᵀ + mask) · V, computed per
// query tile with an online softmax (running max m and sum l per query row,
// the output accumulator rescaled when the max grows), so the T x S score
// matrix never exists: only a 4-row x key-block piece of it at a time.
//
// The unit of work is a group of 4 query rows: 4x8 register tiles compute
// its scores (stored key-major, one vector of 4 rows per key), the softmax
// step then runs on all 4 rows at once (lane i = row i), and 4x8 tiles add
// P·V into the rows' output accumulators.
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
//   qTile  TQ rows of d floats, scaled, interleaved per group of 4 rows ([group][h][4])
//   oTile  TQ rows of dv8 floats, the unnormalised output
//   rowM, rowL  TQ floats each: running max and sum
//   scores KB_MAX keys x 4 rows, key-major

/** Query rows per work item. */
export const TQ: i32 = 64;
/** Most keys per block (the score block's capacity). */
const KB_MAX: i32 = 128;

const LOG2E: f32 = 1.4426950408889634;

// @ts-ignore: decorator
@inline
function roundUp(x: i32, m: i32): i32 {
  return ((x + m - 1) / m) * m;
}

/**
 * Keys per block: all of them when S <= KB_MAX (cross-attention, CLIP),
 * else as many as keep a block's packed keys and values within about 40 KiB
 * (64 for d <= 80, 32 for d = 160; larger blocks measured no faster), a
 * multiple of 8.
 */
// @ts-ignore: decorator
@inline
function keyBlock(s8: i32, d: i32, dv8: i32): i32 {
  if (s8 <= KB_MAX) return s8;
  return max(16, min(64, (40960 / ((d + dv8) << 2)) & ~7));
}

// Shuffles of a 4x4 transpose: lo2/hi2 interleave two rows, loPairs/hiPairs
// then gather the columns.
// @ts-ignore: decorator
@inline
function lo2(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline
function hi2(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline
function loPairs(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 0, 1, 4, 5); }
// @ts-ignore: decorator
@inline
function hiPairs(a: v128, b: v128): v128 { return v128.shuffle<f32>(a, b, 2, 3, 6, 7); }

/** Stores the 4x4 transpose of rows a, b, c, d as four vectors at out. */
// @ts-ignore: decorator
@inline
function storeTransposed(out: usize, a: v128, b: v128, c: v128, d: v128): void {
  const t0 = lo2(a, b), t1 = hi2(a, b), t2 = lo2(c, d), t3 = hi2(c, d);
  v128.store(out, loPairs(t0, t2));
  v128.store(out, hiPairs(t0, t2), 16);
  v128.store(out, loPairs(t1, t3), 32);
  v128.store(out, hiPairs(t1, t3), 48);
}

/**
 * Scores of 4 query rows x 8 keys over d, stored key-major: out[j] holds
 * (q0.kj, q1.kj, q2.kj, q3.kj). `qp` is the group's interleaved queries
 * ([h][4 rows]); `kp` an 8-key panel ([h][8 keys]).
 */
// @ts-ignore: decorator
@inline
function scoreTile(qp: usize, kp: usize, d: i32, out: usize): void {
  let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
  let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
  // One step per iteration: unrolled, V8 hoists the loads of both steps and spills accumulators.
  const end = kp + (<usize>d << 5);
  for (; kp < end; kp += 32) {
    const b0 = v128.load(kp);
    const b1 = v128.load(kp, 16);
    let s = v128.load32_splat(qp);
    x00 = madd(s, b0, x00); x01 = madd(s, b1, x01);
    s = v128.load32_splat(qp, 4);
    x10 = madd(s, b0, x10); x11 = madd(s, b1, x11);
    s = v128.load32_splat(qp, 8);
    x20 = madd(s, b0, x20); x21 = madd(s, b1, x21);
    s = v128.load32_splat(qp, 12);
    x30 = madd(s, b0, x30); x31 = madd(s, b1, x31);
    qp += 16;
  }
  storeTransposed(out, x00, x10, x20, x30);
  storeTransposed(out + 64, x01, x11, x21, x31);
}

/**
 * o[r][0..8) += sum_j p[j][r] * v[j][0..8) for the 4 rows of a group over n
 * keys; p is key-major ([j][4 rows]).
 */
// @ts-ignore: decorator
@inline
function valueTile(p: usize, vp: usize, vRowBytes: usize, n: i32, o: usize, oRowBytes: usize): void {
  const o0 = o, o1 = o + oRowBytes, o2 = o + 2 * oRowBytes, o3 = o + 3 * oRowBytes;
  let x00 = v128.load(o0), x01 = v128.load(o0, 16);
  let x10 = v128.load(o1), x11 = v128.load(o1, 16);
  let x20 = v128.load(o2), x21 = v128.load(o2, 16);
  let x30 = v128.load(o3), x31 = v128.load(o3, 16);
  const end = p + (<usize>n << 4);
  for (; p < end; p += 16) {
    const b0 = v128.load(vp);
    const b1 = v128.load(vp, 16);
    let s = v128.load32_splat(p);
    x00 = madd(s, b0, x00); x01 = madd(s, b1, x01);
    s = v128.load32_splat(p, 4);
    x10 = madd(s, b0, x10); x11 = madd(s, b1, x11);
    s = v128.load32_splat(p, 8);
    x20 = madd(s, b0, x20); x21 = madd(s, b1, x21);
    s = v128.load32_splat(p, 12);
    x30 = madd(s, b0, x30); x31 = madd(s, b1, x31);
    vp += vRowBytes;
  }
  v128.store(o0, x00); v128.store(o0, x01, 16);
  v128.store(o1, x10); v128.store(o1, x11, 16);
  v128.store(o2, x20); v128.store(o2, x21, 16);
  v128.store(o3, x30); v128.store(o3, x31, 16);
}

/**
 * Online-softmax step for a group of 4 query rows over a block of n8 keys
 * (the first `valid` real), scores key-major at sp: adds the mask (row i's
 * mask row at mask0 + min(i, lastRow) * maskRowBytes), hides keys past the
 * causal limit (row i sees block keys j <= causal0 + i when `causal`),
 * turns scores into 2^(s - m) in place, and updates the rows' running max m,
 * sum l and output accumulators, all four rows at once, lane i being row i.
 */
function softmaxGroup(
  sp: usize, valid: i32, n8: i32,
  mask0: usize, maskRowBytes: usize, maskS: i32, lastRow: i32,
  causal: i32, causal0: i32,
  mPtr: usize, lPtr: usize, oRows: usize, dv8: i32,
): void {
  if (mask0) {
    const m1 = mask0 + <usize>min(1, lastRow) * maskRowBytes;
    const m2 = mask0 + <usize>min(2, lastRow) * maskRowBytes;
    const m3 = mask0 + <usize>min(3, lastRow) * maskRowBytes;
    const l2e = f32x4.splat(LOG2E);
    if (maskS) {
      let j = 0;
      for (; j + 4 <= valid; j += 4) {
        const o = <usize>j << 2;
        const a = v128.load(mask0 + o), b = v128.load(m1 + o), c = v128.load(m2 + o), d = v128.load(m3 + o);
        const t0 = lo2(a, b), t1 = hi2(a, b), t2 = lo2(c, d), t3 = hi2(c, d);
        const at = sp + (<usize>j << 4);
        v128.store(at, madd(loPairs(t0, t2), l2e, v128.load(at)));
        v128.store(at, madd(hiPairs(t0, t2), l2e, v128.load(at, 16)), 16);
        v128.store(at, madd(loPairs(t1, t3), l2e, v128.load(at, 32)), 32);
        v128.store(at, madd(hiPairs(t1, t3), l2e, v128.load(at, 48)), 48);
      }
      for (; j < valid; j++) {
        const o = <usize>j << 2;
        let mv = f32x4.splat(load<f32>(mask0 + o));
        mv = f32x4.replace_lane(mv, 1, load<f32>(m1 + o));
        mv = f32x4.replace_lane(mv, 2, load<f32>(m2 + o));
        mv = f32x4.replace_lane(mv, 3, load<f32>(m3 + o));
        const at = sp + (<usize>j << 4);
        v128.store(at, madd(mv, l2e, v128.load(at)));
      }
    } else {
      let mv = f32x4.splat(load<f32>(mask0));
      mv = f32x4.replace_lane(mv, 1, load<f32>(m1));
      mv = f32x4.replace_lane(mv, 2, load<f32>(m2));
      mv = f32x4.replace_lane(mv, 3, load<f32>(m3));
      for (let j = 0; j < valid; j++) {
        const at = sp + (<usize>j << 4);
        v128.store(at, madd(mv, l2e, v128.load(at)));
      }
    }
  }
  const minusInf = f32x4.splat(-Infinity);
  if (causal) {
    const lanes = i32x4(0, 1, 2, 3);
    for (let j = max(0, causal0 + 1); j < valid; j++) {
      const at = sp + (<usize>j << 4);
      const hidden = i32x4.gt_s(i32x4.splat(j - causal0), lanes);
      v128.store(at, v128.bitselect(minusInf, v128.load(at), hidden));
    }
  }
  for (let j = valid; j < n8; j++) v128.store(sp + (<usize>j << 4), minusInf);

  const end = sp + (<usize>n8 << 4);
  let mx = v128.load(sp);
  for (let at = sp + 16; at < end; at += 16) mx = f32x4.pmax(mx, v128.load(at));
  const mOld = v128.load(mPtr);
  const mNew = f32x4.pmax(mx, mOld);
  // Rows with nothing visible so far keep m = -inf; subtracting 0 then keeps their p at ~0.
  const mUse = v128.andnot(mNew, f32x4.eq(mNew, minusInf));
  let sum = f32x4.splat(0);
  for (let at = sp; at < end; at += 16) {
    const p = exp2NonPositive(f32x4.sub(v128.load(at), mUse));
    v128.store(at, p);
    sum = f32x4.add(sum, p);
  }
  // Exactly 1 where the max did not move (the polynomial's 2^0 is 1 + 1 ulp).
  const one = f32x4.splat(1);
  const same = f32x4.eq(mOld, mUse);
  const alpha = v128.bitselect(one, exp2NonPositive(f32x4.sub(mOld, mUse)), same);
  v128.store(mPtr, mNew);
  v128.store(lPtr, f32x4.add(f32x4.mul(v128.load(lPtr), alpha), sum));
  if (!i32x4.all_true(same)) {
    const rowBytes = <usize>dv8 << 2;
    const a0 = f32x4.splat(f32x4.extract_lane(alpha, 0)), a1 = f32x4.splat(f32x4.extract_lane(alpha, 1));
    const a2 = f32x4.splat(f32x4.extract_lane(alpha, 2)), a3 = f32x4.splat(f32x4.extract_lane(alpha, 3));
    for (let o: usize = 0; o < rowBytes; o += 16) {
      const p = oRows + o;
      v128.store(p, f32x4.mul(v128.load(p), a0));
      v128.store(p + rowBytes, f32x4.mul(v128.load(p + rowBytes), a1));
      v128.store(p + 2 * rowBytes, f32x4.mul(v128.load(p + 2 * rowBytes), a2));
      v128.store(p + 3 * rowBytes, f32x4.mul(v128.load(p + 3 * rowBytes), a3));
    }
  }
}

/**
 * Copies `rows` query rows (stride rowBytes) times `scale` into groups of 4
 * rows interleaved by h ([group][h][4]), zero-filling the last group's
 * missing rows.
 */
function packQueries(src: usize, rowBytes: usize, rows: i32, d: i32, scale: f32, dst: usize): void {
  const sv = f32x4.splat(scale);
  const d4 = d & ~3;
  for (let r = 0; r < rows; r += 4) {
    const g = dst + ((<usize>r * <usize>d) << 2);
    const r0 = src + <usize>r * rowBytes;
    if (r + 4 <= rows) {
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      let h = 0;
      for (; h < d4; h += 4) {
        const o = <usize>h << 2;
        storeTransposed(
          g + (<usize>h << 4),
          f32x4.mul(v128.load(r0 + o), sv), f32x4.mul(v128.load(r1 + o), sv),
          f32x4.mul(v128.load(r2 + o), sv), f32x4.mul(v128.load(r3 + o), sv),
        );
      }
      for (; h < d; h++) {
        const o = <usize>h << 2;
        let v = f32x4.splat(load<f32>(r0 + o));
        v = f32x4.replace_lane(v, 1, load<f32>(r1 + o));
        v = f32x4.replace_lane(v, 2, load<f32>(r2 + o));
        v = f32x4.replace_lane(v, 3, load<f32>(r3 + o));
        v128.store(g + (<usize>h << 4), f32x4.mul(v, sv));
      }
    } else {
      for (let i = 0; i < 4; i++) {
        const row = r0 + <usize>i * rowBytes;
        for (let h = 0; h < d; h++) {
          store<f32>(g + (<usize>h << 4) + (<usize>i << 2), r + i < rows ? load<f32>(row + (<usize>h << 2)) * scale : 0);
        }
      }
    }
  }
}

/**
 * Packs key/value head (b, kh): keys into 8-key panels ([h][8 keys]), values
 * into zero-padded rows. Key (j, h) is at k + j*kRow + h*kCol bytes.
 */
function packHead(
  k: usize, v: usize, kRow: usize, kCol: usize, vRow: usize, s: i32, d: i32, dv: i32, dv8: i32,
  kPack: usize, vPack: usize,
): void {
  const s8 = roundUp(s, 8);
  for (let j = 0; j < s8; j++) {
    const dst = kPack + ((<usize>(j >> 3) * <usize>d) << 5) + (<usize>(j & 7) << 2);
    if (j < s) {
      const src = k + <usize>j * kRow;
      for (let h = 0; h < d; h++) store<f32>(dst + (<usize>h << 5), load<f32>(src + <usize>h * kCol));
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
  return 4 * (s8 * d + s8 * dv8 + TQ * d + TQ * dv8 + 2 * TQ + 4 * KB_MAX);
}

/**
 * Attention for thread `thread` of `threads`. Pointers are byte offsets;
 * `mask` is 0 or an additive mask read at b*maskB + n*maskN + t*maskT +
 * s*maskS (element strides; maskS is 0 or 1); `keysTransposed` reads k as
 * [B, KN, d, S] (a matmul's right-hand side) in either layout; `causal`
 * hides keys s > t;
 * `scratch` holds `threads` areas of `scratchStride` bytes (16-aligned).
 */
export function attention(
  q: usize, k: usize, v: usize, out: usize,
  mask: usize, maskB: i32, maskN: i32, maskT: i32, maskS: i32,
  batch: i32, t: i32, s: i32, heads: i32, kvHeads: i32, d: i32, dv: i32,
  layout: i32, keysTransposed: i32, causal: i32, scale: f32,
  scratch: usize, scratchStride: i32,
  thread: i32, threads: i32,
): void {
  const s8 = roundUp(s, 8), dv8 = roundUp(dv, 8);
  const kb = keyBlock(s8, d, dv8);
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
  // Transposed keys are [B, KN, d, S] in either layout.
  const kB = <usize>s * kvHeads * d;
  const kS = keysTransposed ? 1 : btnh ? <usize>kvHeads * d : <usize>d;
  const kH = keysTransposed ? <usize>s : 1;
  const kN = btnh && !keysTransposed ? <usize>d : <usize>s * d;
  const vB = <usize>s * kvHeads * dv, vS = btnh ? <usize>kvHeads * dv : <usize>dv, vN = btnh ? <usize>dv : <usize>s * dv;
  const oB = <usize>t * heads * dv, oT = btnh ? <usize>heads * dv : <usize>dv, oN = btnh ? <usize>dv : <usize>t * dv;
  const group = heads / kvHeads;
  const qScale = scale * LOG2E;
  const oRowBytes = <usize>dv8 << 2;

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
        kS << 2, kH << 2, vS << 2, s, d, dv, dv8, kPack, vPack,
      );
    }
    const t0 = tile * TQ;
    const rows = min(TQ, t - t0);
    const rows4 = roundUp(rows, 4);

    // Scaled queries, interleaved by groups of 4 rows ([group][h][4]; zero rows pad the last group).
    const qSrc = q + ((<usize>b * qB + <usize>n * qN + <usize>t0 * qT) << 2);
    packQueries(qSrc, qT << 2, rows, d, qScale, qTile);
    for (let r = 0; r < rows4; r++) {
      store<f32>(rowM + (<usize>r << 2), -Infinity);
      store<f32>(rowL + (<usize>r << 2), 0);
    }
    memory.fill(oTile, 0, (<usize>rows4 * <usize>dv8) << 2);

    // With causality, key blocks past the tile's last row are skipped.
    const sEnd = causal ? min(s, t0 + rows) : s;
    for (let s0 = 0; s0 < sEnd; s0 += kb) {
      const valid = min(kb, s - s0);
      const n8 = roundUp(valid, 8);
      const kBlock = kPack + ((<usize>(s0 >> 3) * <usize>d) << 5);
      const vBlock = vPack + ((<usize>s0 * <usize>dv8) << 2);
      for (let r = 0; r < rows4; r += 4) {
        const qGroup = qTile + ((<usize>r * <usize>d) << 2);
        for (let j = 0; j < n8; j += 8) {
          scoreTile(qGroup, kBlock + ((<usize>(j >> 3) * <usize>d) << 5), d, scores + (<usize>j << 4));
        }
        const mask0 = mask
          ? mask + ((<usize>b * maskB + <usize>n * maskN + <usize>(t0 + r) * maskT + <usize>s0 * maskS) << 2)
          : 0;
        const oRows = oTile + <usize>r * oRowBytes;
        softmaxGroup(
          scores, valid, n8,
          mask0, <usize>maskT << 2, maskS, min(3, rows - 1 - r),
          causal, t0 + r - s0,
          rowM + (<usize>r << 2), rowL + (<usize>r << 2), oRows, dv8,
        );
        for (let c = 0; c < dv8; c += 8) {
          valueTile(scores, vBlock + (<usize>c << 2), oRowBytes, n8, oRows + (<usize>c << 2), oRowBytes);
        }
      }
    }

    // out = o / l; a row that saw no key (all masked) has l = 0 and gives NaN, as PyTorch does.
    const oDst = out + ((<usize>b * oB + <usize>n * oN + <usize>t0 * oT) << 2);
    const dv4 = dv & ~3;
    for (let r = 0; r < rows; r++) {
      const seen = load<f32>(rowM + (<usize>r << 2)) != -Infinity;
      const l = seen ? load<f32>(rowL + (<usize>r << 2)) : NaN;
      const lv = f32x4.splat(l);
      const src = oTile + <usize>r * oRowBytes;
      const dst = oDst + ((<usize>r * oT) << 2);
      let h = 0;
      for (; h < dv4; h += 4) v128.store(dst + (<usize>h << 2), f32x4.div(v128.load(src + (<usize>h << 2)), lv));
      for (; h < dv; h++) store<f32>(dst + (<usize>h << 2), load<f32>(src + (<usize>h << 2)) / l);
    }
  }
}
