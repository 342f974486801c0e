import { madd } from './simd';
import { constant, exp2Fraction, K_P0, K_P1, K_P2, K_P3, K_P4, K_P5 } from './math';

// Fused attention: out = softmax(scale * Q·Kᵀ + mask) · V, computed per
// query tile with an online softmax (running max m and sum l per query row,
// the output accumulator rescaled when the max grows), so the T x S score
// matrix never exists: only an 8-row x key-block piece of it at a time.
//
// Query rows live in vector lanes throughout: a tile's rows are packed in
// pairs of 4-row groups, interleaved by h ([pair][h][8 rows]). The scores of
// a pair against 4 keys are 8 register accumulators, each a vector over 4
// rows, built from Q vectors times splatted keys, so they come out key-major
// with no transpose. The softmax step then runs on 4 rows at once, and P·V
// multiplies the same probability vectors by splatted values into the
// output accumulator, also stored rows-in-lanes ([pair][c][8 rows]), which
// is transposed once per tile on the way out.
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
// Each row's online softmax runs against a reference m: its running maximum
// rounded up to an integer (any m >= the scores seen serves; an integer one
// makes the split of 2^(s - m) into 2^n · 2^f exact and every rescaling an
// exact power of 2). A row pair's first block, and any block with a mask,
// causality or padding keys, runs in two passes: the scores, then
// softmaxGroup (new m, p, sum, rescale). Other blocks take p against the
// current references in the score tiles themselves (scoreExpTile), which
// saves a pass over the scores; if some score exceeds its reference by more
// than REFERENCE_SLACK, that block is redone the two-pass way.
//
// Work items are (b, n, query tile) in that order, taken one at a time from
// a shared counter, so a thread that gets less of a core does fewer of
// them. Each output row's arithmetic depends only on its own query row and
// the fixed key-block order, so any thread count gives the same bits.
//
// Per-thread scratch (its size: attentionScratchBytes, which ../attention.ts calls):
//   kPack  ceil(S/4) panels of d rows x 4 keys ([panel][h][4]; keys past S are zero)
//   vPack  S4 rows of dv4 floats (S4 = S rounded up to 4, dv4 likewise; zero padded)
//   qTile  TQ rows of d floats, scaled, [pair][h][8 rows]
//   oTile  TQ rows of dv4 floats, the unnormalised output, [pair][c][8 rows]
//   rowM, rowL  TQ floats each: reference m (see above) and running sum
//   scores KB_MAX keys x 8 rows, key-major
//   blockMax, blockSum  8 floats each: the pair's maximum score and sum of p in the current key block
//   refs   16 floats: c and lo of exp2Relative for the pair's two groups

/** Query rows per work item (a multiple of 8). */
export const TQ: i32 = 64;
/** Most keys per block (the score block's capacity). */
const KB_MAX: i32 = 128;

const LOG2E: f32 = 1.4426950408889634;
/** 1.5 * 2^23: adding it rounds a float in (-2^22, 2^22) to an integer in the low mantissa bits. */
const ROUND_MAGIC: f32 = 12582912.0;
/** Largest |m| for which softmaxGroup's split of s - m is exact (with margin). */
const MAX_FAST_M: f32 = 2097152.0;

/** How far a block's scores may exceed the rows' reference and keep p computed against it. */
const REFERENCE_SLACK: f32 = 16;

/**
 * Whether the 8 rows' references at mPtr (integers, from earlier blocks) are
 * all finite and small enough for exp2Relative's exact split; if so, writes
 * the pair's c and lo (group A, then B) at refs.
 */
// @ts-ignore: decorator
@inline
function fastReferences(mPtr: usize, refs: usize): bool {
  const mA = v128.load(mPtr), mB = v128.load(mPtr, 16);
  const limit = f32x4.splat(MAX_FAST_M);
  if (!i32x4.all_true(v128.and(f32x4.lt(f32x4.abs(mA), limit), f32x4.lt(f32x4.abs(mB), limit)))) return false;
  const magic = f32x4.splat(ROUND_MAGIC), span = f32x4.splat(126);
  v128.store(refs, f32x4.sub(magic, mA));
  v128.store(refs, f32x4.sub(mA, span), 16);
  v128.store(refs, f32x4.sub(magic, mB), 32);
  v128.store(refs, f32x4.sub(mB, span), 48);
  return true;
}

/** p * 2^n, n in [-126, 0] being the low bits of t = n + ROUND_MAGIC (two's complement; n << 23 adds n to p's exponent). */
// @ts-ignore: decorator
@inline
function scaleByExponent(p: v128, t: v128): v128 {
  return i32x4.add(p, i32x4.shl(t, 23));
}

// @ts-ignore: decorator
@inline
function roundUp(x: i32, m: i32): i32 {
  return ((x + m - 1) / m) * m;
}

/**
 * Keys per block: all of them when S <= KB_MAX (cross-attention, CLIP),
 * else as many as keep a block's packed keys and values within about 32 KiB
 * (100 for d = dv = 40, 48 for 80, 24 for 160), a multiple of 4. Half that
 * measured the same at d = 40 and 3% slower at d = 160 (more per-block
 * softmax work per key).
 */
// @ts-ignore: decorator
@inline
function keyBlock(s4: i32, d: i32, dv4: i32): i32 {
  if (s4 <= KB_MAX) return s4;
  return max(8, min(KB_MAX, (KEY_BLOCK_BYTES / ((d + dv4) << 2)) & ~3));
}
const KEY_BLOCK_BYTES: i32 = 32768;

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

/** Stores the 4x4 transpose of rows a, b, c, d as four vectors at out, out + step, ... */
// @ts-ignore: decorator
@inline
function storeTransposed(out: usize, step: usize, a: v128, b: v128, c: v128, d: v128): void {
  const t0 = lo2(a, b), t1 = hi2(a, b), t2 = lo2(c, d), t3 = hi2(c, d);
  v128.store(out, loPairs(t0, t2));
  v128.store(out + step, hiPairs(t0, t2));
  v128.store(out + 2 * step, loPairs(t1, t3));
  v128.store(out + 3 * step, hiPairs(t1, t3));
}

/**
 * Scores of a pair of 4-row groups x 4 keys over d, stored key-major: key j's
 * 8 scores at out + 32j (rows 0-3, then 4-7). `qp` is the pair's queries
 * ([h][8 rows]); `kp` a 4-key panel ([h][4 keys]). Folds the scores into
 * the running maxima of the two groups at blockMax and blockMax + 16.
 */
// @ts-ignore: decorator
@inline
function scoreTile(qp: usize, kp: usize, d: i32, out: usize, blockMax: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const end = kp + (<usize>d << 4);
  for (; kp < end; kp += 16) {
    const qa = v128.load(qp);
    const qb = v128.load(qp, 16);
    let s = v128.load32_splat(kp);
    a0 = madd(qa, s, a0); b0 = madd(qb, s, b0);
    s = v128.load32_splat(kp, 4);
    a1 = madd(qa, s, a1); b1 = madd(qb, s, b1);
    s = v128.load32_splat(kp, 8);
    a2 = madd(qa, s, a2); b2 = madd(qb, s, b2);
    s = v128.load32_splat(kp, 12);
    a3 = madd(qa, s, a3); b3 = madd(qb, s, b3);
    qp += 32;
  }
  v128.store(out, a0); v128.store(out, b0, 16);
  v128.store(out, a1, 32); v128.store(out, b1, 48);
  v128.store(out, a2, 64); v128.store(out, b2, 80);
  v128.store(out, a3, 96); v128.store(out, b3, 112);
  v128.store(blockMax, f32x4.pmax(v128.load(blockMax), f32x4.pmax(f32x4.pmax(a0, a1), f32x4.pmax(a2, a3))));
  v128.store(blockMax, f32x4.pmax(v128.load(blockMax, 16), f32x4.pmax(f32x4.pmax(b0, b1), f32x4.pmax(b2, b3))), 16);
}

/**
 * 2^(x - m) for scores x of 4 rows against a reference m (lane i: row i's
 * integer reference), given c = ROUND_MAGIC - m and lo = m - 126; valid for
 * x - m in [-126, 127] (see softmaxGroup for the exact split). p5..p0: the
 * polynomial of exp2Fraction (math.ts), loaded by the caller outside its loop.
 */
// @ts-ignore: decorator
@inline
function exp2Relative(x: v128, c: v128, lo: v128, p5: v128, p4: v128, p3: v128, p2: v128, p1: v128, p0: v128): v128 {
  x = f32x4.pmax(x, lo);
  const t = f32x4.add(x, c);
  return scaleByExponent(exp2Fraction(f32x4.sub(x, f32x4.sub(t, c)), p5, p4, p3, p2, p1, p0), t);
}

/**
 * scoreTile, then p = 2^(score - m) against the rows' references (the pair's
 * c and lo of exp2Relative at ref, ref + 16, ref + 32, ref + 48) stored in
 * place of the scores; adds the four keys' p to the pair's block sums at
 * blockSum (+ 16) and folds the raw scores into blockMax (+ 16), from which
 * the caller learns whether the references held.
 */
// @ts-ignore: decorator
@inline
function scoreExpTile(qp: usize, kp: usize, d: i32, out: usize, blockMax: usize, blockSum: usize, ref: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const end = kp + (<usize>d << 4);
  for (; kp < end; kp += 16) {
    const qa = v128.load(qp);
    const qb = v128.load(qp, 16);
    let s = v128.load32_splat(kp);
    a0 = madd(qa, s, a0); b0 = madd(qb, s, b0);
    s = v128.load32_splat(kp, 4);
    a1 = madd(qa, s, a1); b1 = madd(qb, s, b1);
    s = v128.load32_splat(kp, 8);
    a2 = madd(qa, s, a2); b2 = madd(qb, s, b2);
    s = v128.load32_splat(kp, 12);
    a3 = madd(qa, s, a3); b3 = madd(qb, s, b3);
    qp += 32;
  }
  v128.store(blockMax, f32x4.pmax(v128.load(blockMax), f32x4.pmax(f32x4.pmax(a0, a1), f32x4.pmax(a2, a3))));
  v128.store(blockMax, f32x4.pmax(v128.load(blockMax, 16), f32x4.pmax(f32x4.pmax(b0, b1), f32x4.pmax(b2, b3))), 16);
  const cA = v128.load(ref), loA = v128.load(ref, 16), cB = v128.load(ref, 32), loB = v128.load(ref, 48);
  // The polynomial's constants, loaded here rather than as literals, which V8
  // 13.6 would rebuild at each of their 48 uses (math.ts).
  const p5 = constant(K_P5), p4 = constant(K_P4), p3 = constant(K_P3), p2 = constant(K_P2), p1 = constant(K_P1), p0 = constant(K_P0);
  a0 = exp2Relative(a0, cA, loA, p5, p4, p3, p2, p1, p0); a1 = exp2Relative(a1, cA, loA, p5, p4, p3, p2, p1, p0);
  a2 = exp2Relative(a2, cA, loA, p5, p4, p3, p2, p1, p0); a3 = exp2Relative(a3, cA, loA, p5, p4, p3, p2, p1, p0);
  v128.store(out, a0); v128.store(out, a1, 32); v128.store(out, a2, 64); v128.store(out, a3, 96);
  v128.store(blockSum, f32x4.add(v128.load(blockSum), f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))));
  b0 = exp2Relative(b0, cB, loB, p5, p4, p3, p2, p1, p0); b1 = exp2Relative(b1, cB, loB, p5, p4, p3, p2, p1, p0);
  b2 = exp2Relative(b2, cB, loB, p5, p4, p3, p2, p1, p0); b3 = exp2Relative(b3, cB, loB, p5, p4, p3, p2, p1, p0);
  v128.store(out, b0, 16); v128.store(out, b1, 48); v128.store(out, b2, 80); v128.store(out, b3, 112);
  v128.store(blockSum, f32x4.add(v128.load(blockSum, 16), f32x4.add(f32x4.add(b0, b1), f32x4.add(b2, b3))), 16);
}

/**
 * o[c..c+4) of the pair's 8 rows += sum_j p[j] * v[j][c..c+4) over n keys,
 * p key-major ([j][8 rows]), o rows-in-lanes ([c][8 rows]), v rows of
 * vRowBytes.
 */
// @ts-ignore: decorator
@inline
function valueTile(p: usize, vp: usize, vRowBytes: usize, n: i32, o: usize): void {
  let a0 = v128.load(o), b0 = v128.load(o, 16), a1 = v128.load(o, 32), b1 = v128.load(o, 48);
  let a2 = v128.load(o, 64), b2 = v128.load(o, 80), a3 = v128.load(o, 96), b3 = v128.load(o, 112);
  const end = p + (<usize>n << 5);
  for (; p < end; p += 32) {
    const pa = v128.load(p);
    const pb = v128.load(p, 16);
    let s = v128.load32_splat(vp);
    a0 = madd(pa, s, a0); b0 = madd(pb, s, b0);
    s = v128.load32_splat(vp, 4);
    a1 = madd(pa, s, a1); b1 = madd(pb, s, b1);
    s = v128.load32_splat(vp, 8);
    a2 = madd(pa, s, a2); b2 = madd(pb, s, b2);
    s = v128.load32_splat(vp, 12);
    a3 = madd(pa, s, a3); b3 = madd(pb, s, b3);
    vp += vRowBytes;
  }
  v128.store(o, a0); v128.store(o, b0, 16);
  v128.store(o, a1, 32); v128.store(o, b1, 48);
  v128.store(o, a2, 64); v128.store(o, b2, 80);
  v128.store(o, a3, 96); v128.store(o, b3, 112);
}

/**
 * Online-softmax step for one 4-row group over a block of n4 keys (the
 * first `valid` real, the others' scores already -inf), its scores
 * key-major at sp with 32 bytes from key to key: adds the mask (row i's mask row at mask0 + min(i, lastRow) *
 * maskRowBytes), hides keys past the causal limit (row i sees block keys j
 * <= causal0 + i when `causal`), turns scores into 2^(s - m) in place, and
 * updates the rows' references m, sums l and output accumulators (o: dv4
 * columns, 32 bytes apart), all four rows at once, lane i being row i.
 * blockMax holds the scores' maximum as the score tiles found it.
 */
function softmaxGroup(
  sp: usize, valid: i32, n4: i32,
  mask0: usize, maskRowBytes: usize, maskS: i32, lastRow: i32,
  causal: i32, causal0: i32,
  mPtr: usize, lPtr: usize, o: usize, dv4: i32, blockMax: usize,
): void {
  if (mask0) {
    const m1 = mask0 + <usize>min(1, lastRow) * maskRowBytes;
    const m2 = mask0 + <usize>min(2, lastRow) * maskRowBytes;
    const m3 = mask0 + <usize>min(3, lastRow) * maskRowBytes;
    const l2e = f32x4.splat(LOG2E);
    if (maskS) {
      let j = 0;
      for (; j + 4 <= valid; j += 4) {
        const mo = <usize>j << 2;
        const a = v128.load(mask0 + mo), b = v128.load(m1 + mo), c = v128.load(m2 + mo), d = v128.load(m3 + mo);
        const t0 = lo2(a, b), t1 = hi2(a, b), t2 = lo2(c, d), t3 = hi2(c, d);
        const at = sp + (<usize>j << 5);
        v128.store(at, madd(loPairs(t0, t2), l2e, v128.load(at)));
        v128.store(at, madd(hiPairs(t0, t2), l2e, v128.load(at, 32)), 32);
        v128.store(at, madd(loPairs(t1, t3), l2e, v128.load(at, 64)), 64);
        v128.store(at, madd(hiPairs(t1, t3), l2e, v128.load(at, 96)), 96);
      }
      for (; j < valid; j++) {
        const mo = <usize>j << 2;
        let mv = f32x4.splat(load<f32>(mask0 + mo));
        mv = f32x4.replace_lane(mv, 1, load<f32>(m1 + mo));
        mv = f32x4.replace_lane(mv, 2, load<f32>(m2 + mo));
        mv = f32x4.replace_lane(mv, 3, load<f32>(m3 + mo));
        const at = sp + (<usize>j << 5);
        v128.store(at, madd(mv, l2e, v128.load(at)));
      }
    } else {
      let mv = f32x4.splat(load<f32>(mask0));
      mv = f32x4.replace_lane(mv, 1, load<f32>(m1));
      mv = f32x4.replace_lane(mv, 2, load<f32>(m2));
      mv = f32x4.replace_lane(mv, 3, load<f32>(m3));
      for (let j = 0; j < valid; j++) {
        const at = sp + (<usize>j << 5);
        v128.store(at, madd(mv, l2e, v128.load(at)));
      }
    }
  }
  const minusInf = f32x4.splat(-Infinity);
  if (causal) {
    const lanes = i32x4(0, 1, 2, 3);
    for (let j = max(0, causal0 + 1); j < valid; j++) {
      const at = sp + (<usize>j << 5);
      const hidden = i32x4.gt_s(i32x4.splat(j - causal0), lanes);
      v128.store(at, v128.bitselect(minusInf, v128.load(at), hidden));
    }
  }

  const end = sp + (<usize>n4 << 5);
  // The scores' maximum, as the score tiles found it unless the mask or causality changed them.
  let mx = v128.load(blockMax);
  if (mask0 || causal) {
    // n4 is a multiple of 4: four independent chains.
    let mx0 = v128.load(sp), mx1 = v128.load(sp, 32), mx2 = v128.load(sp, 64), mx3 = v128.load(sp, 96);
    for (let at = sp + 128; at < end; at += 128) {
      mx0 = f32x4.pmax(mx0, v128.load(at));
      mx1 = f32x4.pmax(mx1, v128.load(at, 32));
      mx2 = f32x4.pmax(mx2, v128.load(at, 64));
      mx3 = f32x4.pmax(mx3, v128.load(at, 96));
    }
    mx = f32x4.pmax(f32x4.pmax(mx0, mx1), f32x4.pmax(mx2, mx3));
  }
  const mOld = v128.load(mPtr);
  // The reference point m: the running maximum rounded up to an integer
  // (any m >= the scores serves; an integer one makes the exponent split
  // below exact and rescaling factors exact powers of 2). Rows with nothing
  // visible so far keep m = -inf and use 0, which keeps their p at ~0.
  const mNew = f32x4.ceil(f32x4.pmax(mx, mOld));
  const mUse = v128.andnot(mNew, f32x4.eq(mNew, minusInf));
  let sum: v128;
  if (v128.any_true(f32x4.ge(f32x4.abs(mUse), f32x4.splat(MAX_FAST_M)))) {
    sum = exp2BlockFar(sp, end, mUse);
  } else {
    // 2^(s - m) = 2^n * 2^f with n = round(s - m), f = s - m - n, s clamped
    // to m - 126: t = s + (MAGIC - m) has n in its low mantissa bits, and
    // t - (MAGIC - m) = n + m exactly, so f = s - (n + m) is exact too.
    const c = f32x4.sub(f32x4.splat(ROUND_MAGIC), mUse);
    const lo = f32x4.sub(mUse, f32x4.splat(126));
    const p5 = constant(K_P5), p4 = constant(K_P4), p3 = constant(K_P3), p2 = constant(K_P2), p1 = constant(K_P1), p0 = constant(K_P0);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    for (let at = sp; at < end; at += 64) {
      const x0 = f32x4.pmax(v128.load(at), lo);
      const x1 = f32x4.pmax(v128.load(at, 32), lo);
      const t0 = f32x4.add(x0, c);
      const t1 = f32x4.add(x1, c);
      const y0 = scaleByExponent(exp2Fraction(f32x4.sub(x0, f32x4.sub(t0, c)), p5, p4, p3, p2, p1, p0), t0);
      const y1 = scaleByExponent(exp2Fraction(f32x4.sub(x1, f32x4.sub(t1, c)), p5, p4, p3, p2, p1, p0), t1);
      v128.store(at, y0); v128.store(at, y1, 32);
      s0 = f32x4.add(s0, y0); s1 = f32x4.add(s1, y1);
    }
    sum = f32x4.add(s0, s1);
  }
  // alpha = 2^(mOld - m) exactly (1 where m did not move, ~0 for mOld = -inf).
  const dm = f32x4.pmax(f32x4.sub(mOld, mUse), f32x4.splat(-126));
  const alpha = scaleByExponent(f32x4.splat(1), f32x4.add(dm, f32x4.splat(ROUND_MAGIC)));
  v128.store(mPtr, mNew);
  v128.store(lPtr, f32x4.add(f32x4.mul(v128.load(lPtr), alpha), sum));
  if (!i32x4.all_true(f32x4.eq(mOld, mUse))) {
    const oEnd = o + (<usize>dv4 << 5);
    for (; o < oEnd; o += 32) v128.store(o, f32x4.mul(v128.load(o), alpha));
  }
}

/**
 * The exp step of softmaxGroup for a reference point m too large for its
 * exact split (|m| >= MAX_FAST_M, scores of millions): 2^(s - m) with s - m
 * computed first. Returns the sum of the block's p.
 */
function exp2BlockFar(sp: usize, end: usize, m: v128): v128 {
  let sum = f32x4.splat(0);
  const p5 = constant(K_P5), p4 = constant(K_P4), p3 = constant(K_P3), p2 = constant(K_P2), p1 = constant(K_P1), p0 = constant(K_P0);
  for (let at = sp; at < end; at += 32) {
    const x = f32x4.pmax(f32x4.sub(v128.load(at), m), f32x4.splat(-126));
    const t = f32x4.add(x, f32x4.splat(ROUND_MAGIC));
    const p = scaleByExponent(exp2Fraction(f32x4.sub(x, f32x4.sub(t, f32x4.splat(ROUND_MAGIC))), p5, p4, p3, p2, p1, p0), t);
    v128.store(at, p);
    sum = f32x4.add(sum, p);
  }
  return sum;
}

/**
 * Reads one word of every 64-byte line of `rows` rows of `bytes` bytes
 * (stride rowBytes) as independent loads, so that rows far apart in memory
 * (BTNH: 1280 bytes at SD's 8 x 40) arrive from memory together instead of
 * one miss after another as the packing or output code reaches them (12%
 * faster 4096 x 77 cross-attention in BTNH). Stores the words' OR at sink,
 * so the loads are kept.
 */
function touchRows(src: usize, rowBytes: usize, rows: i32, bytes: usize, sink: usize): void {
  let x: i32 = 0;
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>r * rowBytes;
    for (let o: usize = 0; o < bytes; o += 64) x |= load<i32>(row + o);
    x |= load<i32>(row + bytes - 4);
  }
  store<i32>(sink, x);
}

/**
 * Copies `rows` query rows (stride rowBytes) times `scale` into pairs of
 * 4-row groups interleaved by h ([pair][h][8 rows]), zero-filling rows past
 * `rows` up to the next multiple of 8.
 */
function packQueries(src: usize, rowBytes: usize, rows: i32, d: i32, scale: f32, dst: usize): void {
  const sv = f32x4.splat(scale);
  const d4 = d & ~3;
  const rows8 = roundUp(rows, 8);
  for (let r = 0; r < rows8; r += 4) {
    // Group r/4 is half (r >> 2) & 1 of pair r/8.
    const g = dst + ((<usize>(r >> 3) * <usize>d) << 5) + (<usize>((r >> 2) & 1) << 4);
    const r0 = src + <usize>r * rowBytes;
    if (r + 4 <= rows) {
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      let h = 0;
      for (; h < d4; h += 4) {
        const o = <usize>h << 2;
        storeTransposed(
          g + (<usize>h << 5), 32,
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
        v128.store(g + (<usize>h << 5), f32x4.mul(v, sv));
      }
    } else {
      for (let i = 0; i < 4; i++) {
        const row = r0 + <usize>i * rowBytes;
        for (let h = 0; h < d; h++) {
          store<f32>(g + (<usize>h << 5) + (<usize>i << 2), r + i < rows ? load<f32>(row + (<usize>h << 2)) * scale : 0);
        }
      }
    }
  }
}

/**
 * Packs key/value head (b, kh): keys into 4-key panels ([h][4 keys]), values
 * into rows zero-padded to dv4. Key (j, h) is at k + j*kRow + h*kCol bytes
 * (kCol = 4: rows of d floats; kRow = 4: keys in columns, rows kCol apart).
 */
function packHead(
  k: usize, v: usize, kRow: usize, kCol: usize, vRow: usize, s: i32, d: i32, dv: i32, dv4: i32,
  kPack: usize, vPack: usize,
): void {
  const s4 = s & ~3;
  const d4 = d & ~3;
  for (let j = 0; j < s4; j += 4) {
    const dst = kPack + ((<usize>j * <usize>d) << 2);
    const src = k + <usize>j * kRow;
    if (kCol == 4) {
      // Rows of d floats: 4x4 transposes of (4 keys) x (4 h).
      const k1 = src + kRow, k2 = k1 + kRow, k3 = k2 + kRow;
      let h = 0;
      for (; h < d4; h += 4) {
        const o = <usize>h << 2;
        storeTransposed(dst + (<usize>h << 4), 16, v128.load(src + o), v128.load(k1 + o), v128.load(k2 + o), v128.load(k3 + o));
      }
      for (; h < d; h++) {
        const o = <usize>h << 2;
        let x = f32x4.splat(load<f32>(src + o));
        x = f32x4.replace_lane(x, 1, load<f32>(k1 + o));
        x = f32x4.replace_lane(x, 2, load<f32>(k2 + o));
        x = f32x4.replace_lane(x, 3, load<f32>(k3 + o));
        v128.store(dst + (<usize>h << 4), x);
      }
    } else if (kRow == 4) {
      // Keys in columns: 4 consecutive keys of one h are one vector.
      for (let h = 0; h < d; h++) v128.store(dst + (<usize>h << 4), v128.load(src + <usize>h * kCol));
    } else {
      for (let h = 0; h < d; h++) {
        for (let i = 0; i < 4; i++) store<f32>(dst + (<usize>h << 4) + (<usize>i << 2), load<f32>(src + <usize>i * kRow + <usize>h * kCol));
      }
    }
  }
  if (s4 < s) {
    const dst = kPack + ((<usize>s4 * <usize>d) << 2);
    for (let h = 0; h < d; h++) {
      for (let i = 0; i < 4; i++) {
        const j = s4 + i;
        store<f32>(dst + (<usize>h << 4) + (<usize>i << 2), j < s ? load<f32>(k + <usize>j * kRow + <usize>h * kCol) : 0);
      }
    }
  }
  const dvv = dv & ~3;
  const vEnd = roundUp(s, 4);
  for (let j = 0; j < vEnd; j++) {
    const vd = vPack + ((<usize>j * <usize>dv4) << 2);
    if (j < s) {
      const vs = v + <usize>j * vRow;
      let h = 0;
      for (; h < dvv; h += 4) v128.store(vd + (<usize>h << 2), v128.load(vs + (<usize>h << 2)));
      for (; h < dv4; h++) store<f32>(vd + (<usize>h << 2), h < dv ? load<f32>(vs + (<usize>h << 2)) : 0);
    } else {
      memory.fill(vd, 0, <usize>dv4 << 2);
    }
  }
}

/** Bytes of the workspace before the threads' areas (the work counter's cache line). */
const WORKSPACE_HEADER: usize = 64;

/** Bytes of scratch one thread needs for these sizes (a multiple of 16). */
export function attentionScratchBytes(s: i32, d: i32, dv: i32): i32 {
  const s4 = roundUp(s, 4), dv4 = roundUp(dv, 4);
  return 4 * (s4 * d + s4 * dv4 + TQ * d + TQ * dv4 + 2 * TQ + 8 * KB_MAX + 32);
}

/**
 * Attention for one of the threads that run it. Pointers are byte offsets;
 * `mask` is 0 or an additive mask read at b*maskB + n*maskN + t*maskT +
 * s*maskS (element strides; maskS is 0 or 1); `keysTransposed` reads k as
 * [B, KN, d, S] (a matmul's right-hand side) in either layout; `causal`
 * hides keys s > t. `scratch` (16-aligned) is the workspace: the i32 work
 * counter, which the caller sets to 0, then from scratch + 64 `threads`
 * areas of `scratchStride` bytes, this thread's being number `thread`.
 */
export function attention(
  q: usize, k: usize, v: usize, out: usize,
  mask: usize, maskB: i32, maskN: i32, maskT: i32, maskS: i32,
  batch: i32, t: i32, s: i32, heads: i32, kvHeads: i32, d: i32, dv: i32,
  layout: i32, keysTransposed: i32, causal: i32, scale: f32,
  scratch: usize, scratchStride: i32,
  thread: i32, threads: i32,
): void {
  const s4 = roundUp(s, 4), dv4 = roundUp(dv, 4);
  const kb = keyBlock(s4, d, dv4);
  const counter = scratch;
  const base = scratch + WORKSPACE_HEADER + <usize>thread * <usize>scratchStride;
  const kPack = base;
  const vPack = kPack + ((<usize>s4 * <usize>d) << 2);
  const qTile = vPack + ((<usize>s4 * <usize>dv4) << 2);
  const oTile = qTile + ((<usize>TQ * <usize>d) << 2);
  const rowM = oTile + ((<usize>TQ * <usize>dv4) << 2);
  const rowL = rowM + (<usize>TQ << 2);
  const scores = rowL + (<usize>TQ << 2);
  const blockMax = scores + (<usize>KB_MAX << 5);
  const blockSum = blockMax + 32;
  const refs = blockSum + 32;
  const plain = !mask && !causal;
  const minusInf = f32x4.splat(-Infinity);

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
  const pairQBytes = <usize>d << 5;
  const pairOBytes = <usize>dv4 << 5;
  const vRowBytes = <usize>dv4 << 2;

  const tiles = (t + TQ - 1) / TQ;
  const items = batch * heads * tiles;
  let packed = -1;
  for (let item = atomic.add<i32>(counter, 1); item < items; item = atomic.add<i32>(counter, 1)) {
    const tile = item % tiles;
    const n = (item / tiles) % heads;
    const b = item / (tiles * heads);
    const kh = n / group;
    if (packed != b * kvHeads + kh) {
      packed = b * kvHeads + kh;
      packHead(
        k + ((<usize>b * kB + <usize>kh * kN) << 2), v + ((<usize>b * vB + <usize>kh * vN) << 2),
        kS << 2, kH << 2, vS << 2, s, d, dv, dv4, kPack, vPack,
      );
    }
    const t0 = tile * TQ;
    const rows = min(TQ, t - t0);
    const rows8 = roundUp(rows, 8);

    const qSrc = q + ((<usize>b * qB + <usize>n * qN + <usize>t0 * qT) << 2);
    touchRows(qSrc, qT << 2, rows, <usize>d << 2, blockSum);
    packQueries(qSrc, qT << 2, rows, d, qScale, qTile);
    for (let r = 0; r < rows8; r++) {
      store<f32>(rowM + (<usize>r << 2), -Infinity);
      store<f32>(rowL + (<usize>r << 2), 0);
    }
    memory.fill(oTile, 0, (<usize>rows8 * <usize>dv4) << 2);

    // With causality, key blocks past the tile's last row are skipped.
    const sEnd = causal ? min(s, t0 + rows) : s;
    for (let s0 = 0; s0 < sEnd; s0 += kb) {
      const valid = min(kb, s - s0);
      const n4 = roundUp(valid, 4);
      const kBlock = kPack + ((<usize>s0 * <usize>d) << 2);
      const vBlock = vPack + <usize>s0 * vRowBytes;
      for (let r = 0; r < rows8; r += 8) {
        const qPair = qTile + <usize>(r >> 3) * pairQBytes;
        const oPair = oTile + <usize>(r >> 3) * pairOBytes;
        const mPair = rowM + (<usize>r << 2);
        v128.store(blockMax, minusInf);
        v128.store(blockMax, minusInf, 16);
        // Plain blocks after the first: p against the rows' current references
        // right in the score tiles, kept when no score exceeds its reference by
        // more than REFERENCE_SLACK (so p <= 2^REFERENCE_SLACK).
        let fused = false;
        if (plain && valid == n4 && fastReferences(mPair, refs)) {
          v128.store(blockSum, f32x4.splat(0));
          v128.store(blockSum, f32x4.splat(0), 16);
          for (let j = 0; j < n4; j += 4) {
            scoreExpTile(qPair, kBlock + ((<usize>j * <usize>d) << 2), d, scores + (<usize>j << 5), blockMax, blockSum, refs);
          }
          const slack = f32x4.splat(REFERENCE_SLACK);
          const ok = v128.and(
            f32x4.le(v128.load(blockMax), f32x4.add(v128.load(mPair), slack)),
            f32x4.le(v128.load(blockMax, 16), f32x4.add(v128.load(mPair, 16), slack)),
          );
          if (i32x4.all_true(ok)) {
            fused = true;
            const lPair = rowL + (<usize>r << 2);
            v128.store(lPair, f32x4.add(v128.load(lPair), v128.load(blockSum)));
            v128.store(lPair, f32x4.add(v128.load(lPair, 16), v128.load(blockSum, 16)), 16);
          } else {
            v128.store(blockMax, minusInf);
            v128.store(blockMax, minusInf, 16);
          }
        }
        if (!fused) {
          const full = valid & ~3;
          for (let j = 0; j < full; j += 4) {
            scoreTile(qPair, kBlock + ((<usize>j * <usize>d) << 2), d, scores + (<usize>j << 5), blockMax);
          }
          if (full < n4) {
            // The last, partial panel (its maximum goes to blockSum, unused here): padding keys become
            // -inf before the valid ones join the block maximum.
            scoreTile(qPair, kBlock + ((<usize>full * <usize>d) << 2), d, scores + (<usize>full << 5), blockSum);
            for (let j = valid; j < n4; j++) {
              v128.store(scores + (<usize>j << 5), minusInf);
              v128.store(scores + (<usize>j << 5), minusInf, 16);
            }
            for (let j = full; j < valid; j++) {
              const at = scores + (<usize>j << 5);
              v128.store(blockMax, f32x4.pmax(v128.load(blockMax), v128.load(at)));
              v128.store(blockMax, f32x4.pmax(v128.load(blockMax, 16), v128.load(at, 16)), 16);
            }
          }
        }
        for (let g = 0; g < 2 && !fused; g++) {
          const r0 = r + 4 * g;
          const mask0 = mask && r0 < rows
            ? mask + ((<usize>b * maskB + <usize>n * maskN + <usize>(t0 + r0) * maskT + <usize>s0 * maskS) << 2)
            : 0;
          softmaxGroup(
            scores + (<usize>g << 4), valid, n4,
            mask0, <usize>maskT << 2, maskS, min(3, rows - 1 - r0),
            causal, t0 + r0 - s0,
            rowM + (<usize>r0 << 2), rowL + (<usize>r0 << 2), oPair + (<usize>g << 4), dv4, blockMax + (<usize>g << 4),
          );
        }
        for (let c = 0; c < dv4; c += 4) {
          valueTile(scores, vBlock + (<usize>c << 2), vRowBytes, n4, oPair + (<usize>c << 5));
        }
      }
    }

    // out = o · (1 / l), transposed back to rows; a row that saw no key
    // (all masked) gives NaN, as PyTorch does.
    const oDst = out + ((<usize>b * oB + <usize>n * oN + <usize>t0 * oT) << 2);
    const oRow = oT << 2;
    touchRows(oDst, oRow, rows, <usize>dv << 2, blockSum);
    for (let r = 0; r < rows; r += 4) {
      const m = v128.load(rowM + (<usize>r << 2));
      const l = v128.bitselect(f32x4.splat(NaN), v128.load(rowL + (<usize>r << 2)), f32x4.eq(m, f32x4.splat(-Infinity)));
      const inv = f32x4.div(f32x4.splat(1), l);
      const src = oTile + <usize>(r >> 3) * pairOBytes + (<usize>((r >> 2) & 1) << 4);
      const dst = oDst + <usize>r * oRow;
      const full = r + 4 <= rows;
      for (let c = 0; c < dv4; c += 4) {
        const at = src + (<usize>c << 5);
        const x0 = f32x4.mul(v128.load(at), inv), x1 = f32x4.mul(v128.load(at, 32), inv);
        const x2 = f32x4.mul(v128.load(at, 64), inv), x3 = f32x4.mul(v128.load(at, 96), inv);
        if (full && c + 4 <= dv) {
          storeTransposed(dst + (<usize>c << 2), oRow, x0, x1, x2, x3);
        } else {
          // The last rows or columns: through the (then unused) score block.
          storeTransposed(scores, 16, x0, x1, x2, x3);
          for (let i = 0; i < min(4, rows - r); i++) {
            for (let h = c; h < min(c + 4, dv); h++) {
              store<f32>(dst + <usize>i * oRow + (<usize>h << 2), load<f32>(scores + (<usize>i << 4) + (<usize>(h - c) << 2)));
            }
          }
        }
      }
    }
  }
}
