/** The drafter that never guesses: plain decoding through the speculative engine (a baseline). */
import { type CommonOptions, drafterContext } from "./context.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate } from "./validate.ts";

export class NoDrafter implements Drafter {
  readonly name = "none";
  private readonly vocabSize: number;

  constructor(opts: CommonOptions) {
    this.vocabSize = drafterContext({ ...opts, kernels: undefined }).vocabSize;
  }

  reset(promptTokens: ArrayLike<number>): void {
    checkTokenIds(promptTokens, this.vocabSize, "prompt");
  }

  propose(budget: number): DraftTree {
    checkBudget(budget);
    return emptyTree();
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.vocabSize);
  }

  memoryBytes(): number {
    return 0;
  }

  dispose(): void {}
}
