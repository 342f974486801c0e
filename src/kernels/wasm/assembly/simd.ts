// Helpers shared by the kernels. The same source is compiled twice: once with
// relaxed SIMD enabled (madd is one fused or unfused multiply-add, as the
// engine chooses) and once without (madd is a mul then an add).

/** a * b + c on four f32 lanes. */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}
