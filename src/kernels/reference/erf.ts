/**
 * The error function in float64, for exact GELU. JavaScript has no Math.erf.
 *
 * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{n>=0} 2^n x^(2n+1) / (1*3*...*(2n+1)).
 * All terms have the sign of x, so the sum has no cancellation and is
 * accurate to a few ulps; for |x| >= 6, 1 - |erf(x)| < 2.2e-17, below half an
 * ulp of 1, so the answer is exactly +-1.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 6) return 1;
  if (x <= -6) return -1;
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}
