/**
 * How long one verification forward takes as a function of the tokens it feeds, cost(S), measured
 * on the loaded model and backend. On a big GPU cost(81) ≈ cost(1); on a 2-core CPU it is many
 * times larger — the whole reason a tree's size must be chosen per machine.
 */
import { Rng } from "../decode/rng.ts";
import type { LanguageModel } from "../model/causal-lm.ts";

export interface CostPoint {
  tokens: number;
  ms: number;
}

export class VerifyCostModel {
  constructor(readonly points: readonly CostPoint[]) {}

  /** Median wall time of a forward of `sizes` tokens after `past` cached ones. */
  static async measure(lm: LanguageModel, sizes: readonly number[] = [1, 2, 4, 8, 16, 32, 48, 64, 96], past = 96, repeats = 3): Promise<VerifyCostModel> {
    const rng = new Rng(1);
    const V = lm.spec.vocabSize;
    const token = () => 3 + Math.floor(rng.next() * (V - 3));
    const cache = lm.newCache();
    const ctx = Array.from({ length: past }, token);
    await lm.forward(ctx, ctx.map((_, i) => i), cache);
    await lm.forward([token()], [past], cache); // warm-up
    cache.truncate(past);
    const points: CostPoint[] = [];
    for (const s of sizes) {
      if (past + s > lm.spec.contextLength) break;
      const times: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const fed = Array.from({ length: s }, token);
        const t0 = performance.now();
        await lm.forward(fed, fed.map((_, i) => past + i), cache);
        times.push(performance.now() - t0);
        cache.truncate(past);
      }
      times.sort((a, b) => a - b);
      points.push({ tokens: s, ms: times[Math.floor(times.length / 2)]! });
    }
    return new VerifyCostModel(points);
  }

  /** Interpolated (and linearly extrapolated) cost of feeding `tokens` tokens, in ms. */
  cost(tokens: number): number {
    const p = this.points;
    if (p.length === 0) return 1;
    if (p.length === 1 || tokens <= p[0]!.tokens) return p[0]!.ms;
    for (let i = 1; i < p.length; i++) {
      if (tokens <= p[i]!.tokens || i === p.length - 1) {
        const a = p[i - 1]!;
        const b = p[i]!;
        return Math.max(p[0]!.ms, a.ms + ((tokens - a.tokens) * (b.ms - a.ms)) / (b.tokens - a.tokens));
      }
    }
    return p[p.length - 1]!.ms;
  }

  summary(): { tokens: number; ms: number }[] {
    return this.points.map((p) => ({ tokens: p.tokens, ms: Math.round(p.ms * 100) / 100 }));
  }
}
