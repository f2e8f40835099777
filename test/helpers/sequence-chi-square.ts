/**
 * The exact-distribution check the sampling tests share: a 4-token Markov chain, 3-token
 * sequences (64 outcomes), N samples, and a chi-square statistic against exact probabilities.
 */
export const CHAIN_LOGITS = [
  [0.2, 1.0, -0.5, 0.8],
  [1.2, -0.3, 0.4, 0.9],
  [-0.2, 0.6, 1.1, 0.3],
  [0.5, 0.1, -0.4, 1.4],
];
export const V = 4;
export const LEN = 3;
export const N = 8000;
/** chi-square with 63 degrees of freedom: P(X > 110) ≈ 2e-4. */
export const CRITICAL = 110;

/** chi-square and total variation of sampled `counts` (keyed "a,b,c") against `probability`. */
export function sequenceChiSquare(counts: ReadonlyMap<string, number>, probability: (seq: number[]) => number): { chi2: number; tv: number } {
  let chi2 = 0;
  let tv = 0;
  for (let code = 0; code < V ** LEN; code++) {
    const seq = [Math.floor(code / 16) % 4, Math.floor(code / 4) % 4, code % 4];
    const expected = N * probability(seq);
    const seen = counts.get(seq.join(",")) ?? 0;
    chi2 += (seen - expected) ** 2 / expected;
    tv += Math.abs(seen / N - expected / N) / 2;
  }
  return { chi2, tv };
}
