import {
  constant, expV, sumLanes, K_E2, K_E3, K_E4, K_E5, K_E6, K_EXP_HI, K_EXP_LO, K_HALF, K_INF, K_LOG2E, K_MAGIC,
  K_NEG_LN2_HI, K_NEG_LN2_LO, K_ONE, K_TWO,
} from './math';

// SOFTMAX over the last axis with TFLite's beta:
// y = e^(beta x - max(beta x)) / sum(e^(beta x - max(beta x))).
// Rows are split over threads; each row's sums have a fixed order.

export function softmax(x: usize, out: usize, rows: i32, n: i32, beta: f32, thread: i32, threads: i32): void {
  const r0 = <i32>((<i64>thread * rows) / threads), r1 = <i32>((<i64>(thread + 1) * rows) / threads);
  const rowBytes = <usize>n << 2;
  const end4 = <usize>(n & ~3) << 2;
  const bv = f32x4.splat(beta);
  // expV's constants, loaded once (math.ts: V8 13.6 would rebuild literals at every use).
  const lo = constant(K_EXP_LO), hi = constant(K_EXP_HI), inf = constant(K_INF), log2e = constant(K_LOG2E);
  const magic = constant(K_MAGIC), negLn2Hi = constant(K_NEG_LN2_HI), negLn2Lo = constant(K_NEG_LN2_LO);
  const e6 = constant(K_E6), e5 = constant(K_E5), e4 = constant(K_E4), e3 = constant(K_E3), e2 = constant(K_E2);
  const one = constant(K_ONE), half = constant(K_HALF), two = constant(K_TWO);
  for (let r = r0; r < r1; r++) {
    const src = x + <usize>r * rowBytes, dst = out + <usize>r * rowBytes;
    let mx = f32x4.splat(-Infinity);
    let o: usize = 0;
    for (; o < end4; o += 16) mx = f32x4.pmax(mx, f32x4.mul(v128.load(src + o), bv));
    let m = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    for (; o < rowBytes; o += 4) m = max(m, load<f32>(src + o) * beta);
    const mv = f32x4.splat(m);
    let acc = f32x4.splat(0);
    for (o = 0; o < end4; o += 16) {
      const e = expV(
        f32x4.sub(f32x4.mul(v128.load(src + o), bv), mv),
        lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two,
      );
      v128.store(dst + o, e);
      acc = f32x4.add(acc, e);
    }
    let sum = sumLanes(acc);
    for (; o < rowBytes; o += 4) {
      const e = f32x4.extract_lane(expV(
        f32x4.splat(load<f32>(src + o) * beta - m),
        lo, hi, inf, log2e, magic, negLn2Hi, negLn2Lo, e6, e5, e4, e3, e2, one, half, two,
      ), 0);
      store<f32>(dst + o, e);
      sum += e;
    }
    const sv = f32x4.splat(sum);
    for (o = 0; o < end4; o += 16) v128.store(dst + o, f32x4.div(v128.load(dst + o), sv));
    for (; o < rowBytes; o += 4) store<f32>(dst + o, load<f32>(dst + o) / sum);
  }
}
