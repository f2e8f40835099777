/**
 * Wraps a Drafter to record, per verification step, how many draft tokens the model accepted:
 * the engine's stats give totals only, while /metrics reports acceptance by draft position.
 * The wrapper changes nothing the engine sees.
 */
import type { DraftTree, Drafter, VerifyUpdate } from "../drafters/types.ts";
import type { DraftStep } from "./metrics.ts";

export class DraftLog implements Drafter {
  readonly steps: DraftStep[] = [];
  private proposed = false;

  constructor(private readonly inner: Drafter) {}

  get name(): string {
    return this.inner.name;
  }

  get sourceNames(): readonly string[] | undefined {
    return this.inner.sourceNames;
  }

  get candidatesPerRow(): number | undefined {
    return this.inner.candidatesPerRow;
  }

  reset(promptTokens: ArrayLike<number>): void {
    this.proposed = false;
    this.inner.reset(promptTokens);
  }

  propose(budget: number): DraftTree {
    const tree = this.inner.propose(budget);
    this.proposed = tree.size > 0;
    return tree;
  }

  observe(update: VerifyUpdate): void {
    // After a non-empty proposal the next observation is its verification: the accepted draft
    // tokens followed by one bonus token. An empty proposal, or one the engine cut to nothing
    // (only the root was fed), is followed by a plain step.
    if (this.proposed && update.verifiedTokens.length > 1) this.steps.push({ accepted: update.accepted.length - 1 });
    this.proposed = false;
    this.inner.observe(update);
  }
}
