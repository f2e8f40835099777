/**
 * Chooses each step's draft budget to maximise expected tokens per millisecond:
 *
 *     score(b) = (1 + E[accepted | b]) / (cost(1 + E[tree size | b]) + E[drafter ms | b])
 *
 * over a few budget buckets (0 = don't draft). E[·] are exponential moving averages of what the
 * steps that used bucket b actually saw, started optimistically so every bucket gets tried. Every
 * 8th step re-tries a neighbour of the best bucket, so a drafter that improves (a warming Token
 * Recycling table, a prompt with repetition ahead) is noticed. Deterministic: no randomness, so a
 * seeded run decodes the same way twice.
 */
import type { VerifyCostModel } from "./cost-model.ts";

const ALPHA = 0.25;

interface BucketStats {
  accepted: number;
  size: number;
  drafterMs: number;
  uses: number;
}

export class BudgetPolicy {
  private readonly stats: BucketStats[];
  private step = 0;
  private last = 0;
  readonly used = new Map<number, number>();

  constructor(
    private readonly cost: VerifyCostModel,
    readonly buckets: readonly number[] = [0, 4, 8, 16, 32, 48, 64, 80],
  ) {
    this.stats = buckets.map((b) => ({ accepted: Math.min(b, 3), size: b, drafterMs: 0, uses: 0 }));
  }

  private score(i: number): number {
    const s = this.stats[i]!;
    return (1 + s.accepted) / (this.cost.cost(1 + s.size) + s.drafterMs);
  }

  /** The budget for the next step (before limits such as context room are applied). */
  choose(): number {
    let best = 0;
    for (let i = 1; i < this.buckets.length; i++) if (this.score(i) > this.score(best)) best = i;
    this.step++;
    if (this.step % 8 === 0) {
      // Explore a neighbour, alternating sides.
      const side = (this.step / 8) % 2 === 0 ? 1 : -1;
      const n = best + side;
      if (n >= 0 && n < this.buckets.length) best = n;
    }
    this.last = best;
    const b = this.buckets[best]!;
    this.used.set(b, (this.used.get(b) ?? 0) + 1);
    return b;
  }

  /** What the step that used the last chosen budget saw. */
  record(treeSize: number, accepted: number, drafterMs: number): void {
    const s = this.stats[this.last]!;
    const a = s.uses === 0 ? 1 : ALPHA; // the first observation replaces the optimistic prior
    s.accepted += a * (accepted - s.accepted);
    s.size += a * (treeSize - s.size);
    s.drafterMs += a * (drafterMs - s.drafterMs);
    s.uses++;
  }

  /** Steps per budget, for stats. */
  histogram(): Record<string, number> {
    return Object.fromEntries([...this.used.entries()].sort((x, y) => x[0] - y[0]).map(([b, n]) => [String(b), n]));
  }
}
