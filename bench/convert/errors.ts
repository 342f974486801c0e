/** How far converted-model outputs are from a reference: max |d| / max |ref| and relative L2. */
export function outputErrors(got: ArrayLike<number>, ref: ArrayLike<number>): { maxRel: number; relL2: number } {
  let d = 0, m = 0, se = 0, sr = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
    se += (got[i]! - ref[i]!) ** 2;
    sr += ref[i]! ** 2;
  }
  return { maxRel: d / m, relL2: Math.sqrt(se / sr) };
}
