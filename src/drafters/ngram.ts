/**
 * n-gram / prompt-lookup drafting (PLD; vLLM's "ngram" proposer): find the longest suffix of the
 * sequence, n in [minN, maxN], that occurred earlier, and propose what followed it.
 * `ngramPropose` is the reference, a pure function; `NgramDrafter` answers the same through an
 * incremental index (kernels), so a step costs O(maxN²) however long the context is.
 */
import { type CommonOptions, type DrafterContext, drafterContext } from "./context.ts";
import { DEFAULT_SEQUENCE_MAX_TOKENS } from "./suffix-automaton.ts";
import type { NgramIndexKernel, TreeKernel } from "./kernels/types.ts";
import { DRAFT_SOURCES, SOURCE } from "./sources.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate, intOption } from "./validate.ts";

/**
 * Up to `k` tokens that followed the first earlier occurrence of the longest suffix n-gram
 * (minN <= n <= maxN) of `tokens`; empty when no such suffix occurred before.
 *
 * Example: tokens = [1, 2, 3, 4, 1, 2, 3], minN = 1, maxN = 3, k = 3.
 * The suffix [1, 2, 3] (n = 3) first occurred at positions 0..2, followed by 4, 1, 2 → [4, 1, 2].
 * With k = 10 the copy stops at the end of the sequence → [4, 1, 2, 3].
 */
export function ngramPropose(tokens: ArrayLike<number>, minN: number, maxN: number, k: number): Int32Array {
  const len = tokens.length;
  for (let n = Math.min(maxN, len - 1); n >= minN; n--) {
    // earliest end e < len - 1 with tokens[e-n+1..e] == tokens[len-n..len-1]
    for (let e = n - 1; e < len - 1; e++) {
      let j = 0;
      while (j < n && tokens[e - j] === tokens[len - 1 - j]) j++;
      if (j === n) return Int32Array.from({ length: Math.min(k, len - 1 - e) }, (_, i) => tokens[e + 1 + i]!);
    }
  }
  return new Int32Array(0);
}

export interface NgramOptions {
  /** Shortest suffix to look up (default 1). */
  minN?: number;
  /** Longest suffix to look up (default 4). */
  maxN?: number;
  /** Longest chain drafted (default 10, as in PLD); branch b gets maxChain >> b. */
  maxChain?: number;
  /** Continuations of distinct earlier occurrences (from shorter n) to draft (default 2). */
  branches?: number;
  /** Sequence tokens indexed before the index is rebuilt from the recent half (default 256k). */
  maxTokens?: number;
}

export class NgramDrafter implements Drafter {
  readonly name = "ngram";
  readonly sourceNames = DRAFT_SOURCES;
  readonly minN: number;
  readonly maxN: number;
  readonly maxChain: number;
  readonly branches: number;
  private readonly ctx: DrafterContext;
  private readonly index: NgramIndexKernel;
  private tree: TreeKernel | undefined;

  constructor(opts: CommonOptions & { ngram?: NgramOptions }) {
    this.ctx = drafterContext(opts);
    const o = opts.ngram ?? {};
    this.minN = intOption(o.minN, 1, "ngram.minN", 1, 64);
    this.maxN = intOption(o.maxN, 4, "ngram.maxN", this.minN, 64);
    this.maxChain = intOption(o.maxChain, 10, "ngram.maxChain", 1, 4096);
    this.branches = intOption(o.branches, 2, "ngram.branches", 1, 16);
    this.index = this.ctx.kernels.ngramIndex(this.minN, this.maxN, intOption(o.maxTokens, DEFAULT_SEQUENCE_MAX_TOKENS, "ngram.maxTokens", 16, 1 << 28));
  }

  /** Length of the longest suffix n-gram (in [minN, maxN]) that occurred earlier; 0 if none. */
  matchLength(): number {
    return this.index.matchLength();
  }

  reset(promptTokens: ArrayLike<number>): void {
    checkTokenIds(promptTokens, this.ctx.vocabSize, "prompt");
    this.index.reset();
    this.index.append(promptTokens);
  }

  propose(budget: number): DraftTree {
    const cap = checkBudget(budget);
    if (cap === 0) return emptyTree();
    this.tree ??= this.ctx.kernels.tree();
    this.tree.clear(cap);
    this.draftInto(this.tree, this.maxChain, this.branches);
    return this.tree.finish();
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.ctx.vocabSize);
    this.learn(update);
  }

  /** `observe` without the checks (the hybrid checks once for all its parts). */
  learn(update: VerifyUpdate): void {
    this.index.append(update.accepted);
  }

  draftInto(tree: TreeKernel, maxLen: number, branches: number): void {
    this.index.draftInto(tree, maxLen, branches, SOURCE.ngram);
  }

  memoryBytes(): number {
    return this.index.memoryBytes() + (this.tree?.memoryBytes() ?? 0);
  }

  dispose(): void {
    this.index.dispose();
    this.tree?.dispose();
  }
}
