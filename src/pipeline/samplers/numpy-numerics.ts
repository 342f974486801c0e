/*
 * The few numpy routines the reference samplers call, with numpy's exact
 * order of float64 operations, so that schedules and coefficients come out
 * bit-identical to the reference.
 */

/** np.linspace(start, stop, num) in float64: start + i·step, last element = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) {
    if (div <= 0) y[i] = i * delta + start;
    else if (step === 0) y[i] = (i / div) * delta + start;
    else y[i] = i * step + start;
  }
  if (num > 1) y[num - 1] = stop;
  return y;
}

/** np.interp(x, range(fp.length), fp): piecewise linear on the integer grid 0..n−1. */
export function interpOnIntegerGrid(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x >= n - 1) return fp[n - 1]!;
  if (x <= 0) return fp[0]!;
  const j = Math.floor(x);
  if (j === x) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / 1; // (dy[j+1] − dy[j]) / (dx[j+1] − dx[j]) with dx = j
  return slope * (x - j) + fp[j]!;
}

/** np.add.reduce of a float64 array: numpy's pairwise summation (8 accumulators per block of ≤128). */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j]!;
    }
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.trapezoid(y, x) (np.trapz in numpy 1.x): sum of (x[k+1]−x[k])·(y[k+1]+y[k])/2. */
export function trapezoid(y: ArrayLike<number>, x: ArrayLike<number>): number {
  const terms = new Float64Array(y.length - 1);
  for (let k = 0; k < terms.length; k++) {
    terms[k] = ((x[k + 1]! - x[k]!) * (y[k + 1]! + y[k]!)) / 2;
  }
  return pairwiseSum(terms);
}
