import { madd } from './simd';

/**
 * Measures the machine's SIMD multiply-add throughput: eight independent
 * accumulator chains acc[i][j] += x[i] * y[j], with two x vectors and four
 * splatted y values loaded per step from a small L1-resident buffer of
 * `bufferFloats` floats at `buf` (a multiple of 16). Each step is 8 f32x4
 * multiply-adds = 64 flops; the buffer is swept `sweeps` times, so the
 * total is sweeps * bufferFloats / 8 steps. Operands come from memory, as in
 * a GEMM micro-kernel, because register-only chains are either folded by the
 * optimiser or need more registers than V8 has. Returns a sum so the work
 * is not dead. Eight chains cannot hide a fused multiply-add's latency at
 * two per cycle, so with relaxed SIMD this loop stays about 17% under the
 * machine's peak; the benchmark also runs register-only chains
 * (bench/kernels/peak-chains.ts) and takes the better.
 */
export function simdPeak(buf: usize, bufferFloats: i32, sweeps: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  const end = buf + (<usize>bufferFloats << 2);
  for (let i = 0; i < sweeps; i++) {
    // Two steps per iteration with folded offsets, as in the GEMM
    // micro-kernel, so loop control stays small beside the multiply-adds.
    for (let p = buf; p < end; p += 64) {
      let x0 = v128.load(p);
      let x1 = v128.load(p, 16);
      let y = v128.load32_splat(p);
      a0 = madd(x0, y, a0);
      a1 = madd(x1, y, a1);
      y = v128.load32_splat(p, 4);
      a2 = madd(x0, y, a2);
      a3 = madd(x1, y, a3);
      y = v128.load32_splat(p, 8);
      a4 = madd(x0, y, a4);
      a5 = madd(x1, y, a5);
      y = v128.load32_splat(p, 12);
      a6 = madd(x0, y, a6);
      a7 = madd(x1, y, a7);
      x0 = v128.load(p, 32);
      x1 = v128.load(p, 48);
      y = v128.load32_splat(p, 32);
      a0 = madd(x0, y, a0);
      a1 = madd(x1, y, a1);
      y = v128.load32_splat(p, 36);
      a2 = madd(x0, y, a2);
      a3 = madd(x1, y, a3);
      y = v128.load32_splat(p, 40);
      a4 = madd(x0, y, a4);
      a5 = madd(x1, y, a5);
      y = v128.load32_splat(p, 44);
      a6 = madd(x0, y, a6);
      a7 = madd(x1, y, a7);
    }
  }
  const s = f32x4.add(
    f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)),
    f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)),
  );
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/**
 * simdPeak on every thread at once, each on its own buffer: thread t uses
 * the `bufferFloats` floats at buf + t * bufferFloats * 4 and stores its
 * sum in its buffer's first float.
 */
export function simdPeakParallel(buf: usize, bufferFloats: i32, sweeps: i32, thread: i32, threads: i32): void {
  const mine = buf + <usize>thread * (<usize>bufferFloats << 2);
  const sum = simdPeak(mine, bufferFloats, sweeps);
  store<f32>(mine, sum);
}
