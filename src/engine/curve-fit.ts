/**
 * The arithmetic of a verify cost curve (cost-model.ts): medians of a point's timings, the
 * monotone fit (pool adjacent violators), points filled from their neighbours, and the
 * piecewise-linear curve between points. Pure functions on numbers; the model that keeps the
 * timings and decides which to use is VerifyCostModel.
 */

/** Points of a curve by tokens fed, increasing (CostPoint's shape). */
export type Curve = readonly { tokens: number; ms: number }[];

/** The median of `xs` (not modified). */
export function median(xs: readonly number[]): number {
  const s = Float64Array.from(xs);
  s.sort();
  return middleOf(s, s.length);
}

/**
 * The median of the first `n` numbers of `s`, which it sorts in place: an insertion sort, as `n`
 * is a point's few timings and sorting a view of them would allocate one every step.
 */
export function medianIn(s: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = s[i]!;
    let j = i;
    for (; j > 0 && s[j - 1]! > v; j--) s[j] = s[j - 1]!;
    s[j] = v;
  }
  return middleOf(s, n);
}

/** The median of the sorted first `n` numbers of `s`. */
function middleOf(s: Float64Array, n: number): number {
  const m = n >> 1;
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The non-decreasing sequence closest to `ys` in weighted least squares (pool adjacent violators):
 * a dip such as cost(4) < cost(2) is averaged with its neighbours instead of trusted.
 */
export function isotonic(ys: readonly number[], weights: readonly number[] = ys.map(() => 1)): number[] {
  const out = new Float64Array(ys.length);
  isotonicInto(ys, weights, out, new Float64Array(ys.length), new Int32Array(ys.length));
  return Array.from(out);
}

/**
 * `isotonic` into `out`, with `weight` and `count` as the pooled blocks' scratch (all of ys'
 * length): a step's refit allocates nothing. Blocks are pooled left to right on a stack kept in
 * `out` itself, each merge computed as before, so the values are the same bit for bit.
 */
export function isotonicInto(ys: ArrayLike<number>, weights: ArrayLike<number>, out: Float64Array, weight: Float64Array, count: Int32Array): void {
  let top = 0; // blocks on the stack; their values in out[0 .. top)
  for (let i = 0; i < ys.length; i++) {
    out[top] = ys[i]!;
    weight[top] = weights[i]!;
    count[top] = 1;
    top++;
    while (top > 1 && out[top - 2]! > out[top - 1]!) {
      const w = weight[top - 2]! + weight[top - 1]!;
      const v = (out[top - 2]! * weight[top - 2]! + out[top - 1]! * weight[top - 1]!) / w;
      const c = count[top - 2]! + count[top - 1]!;
      top--;
      out[top - 1] = v;
      weight[top - 1] = w;
      count[top - 1] = c;
    }
  }
  // Expand the blocks right to left (a block's slot is never after its first element's).
  let end = ys.length;
  for (let b = top - 1; b >= 0; b--) {
    const v = out[b]!;
    for (let k = end - count[b]!; k < end; k++) out[k] = v;
    end -= count[b]!;
  }
}

/** The cost of `tokens` on the piecewise-linear curve `p`, never below its first point. */
export function interpolate(p: Curve, tokens: number): number {
  if (p.length === 0) return 1;
  if (p.length === 1 || tokens <= p[0]!.tokens) return p[0]!.ms;
  for (let i = 1; i < p.length; i++) {
    if (tokens <= p[i]!.tokens || i === p.length - 1) return onSegment(p, i, tokens);
  }
  return p[p.length - 1]!.ms;
}

/** The cost of `tokens` on the line through points i - 1 and i of `p` (i >= 1), never below p[0]. */
export function onSegment(p: Curve, i: number, tokens: number): number {
  const a = p[i - 1]!;
  const b = p[i]!;
  return Math.max(p[0]!.ms, a.ms + ((tokens - a.tokens) * (b.ms - a.ms)) / (b.tokens - a.tokens));
}

/**
 * `ms` with its missing points filled, into `out`: between two timed points, on the line through them (the
 * curves are near-linear in S); beyond the timed ones, by `shape`'s ratio to the nearest timed
 * point. At least one point must be timed.
 */
export function fillInto(shape: Curve, ms: readonly (number | undefined)[], out: Float64Array): void {
  for (let g = 0; g < ms.length; g++) {
    const m = ms[g];
    if (m !== undefined) {
      out[g] = m;
      continue;
    }
    let lo = g - 1;
    while (lo >= 0 && ms[lo] === undefined) lo--;
    let hi = g + 1;
    while (hi < ms.length && ms[hi] === undefined) hi++;
    if (lo >= 0 && hi < ms.length) {
      const a = shape[lo]!.tokens;
      const b = shape[hi]!.tokens;
      out[g] = ms[lo]! + ((shape[g]!.tokens - a) * (ms[hi]! - ms[lo]!)) / (b - a);
    } else {
      const ref = lo >= 0 ? lo : hi;
      out[g] = (ms[ref]! * shape[g]!.ms) / shape[ref]!.ms;
    }
  }
}
