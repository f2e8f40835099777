/**
 * Hybrid drafter: each step, one tree under the budget from all retrieval sources.
 * Rule (after SAM-Decoding): a long match is a strong signal that the text repeats, so the
 * continuations of matches at least `threshold` long go in first, longest match first, as chains
 * of `chainLength`; the Token Recycling tree fills what budget is left; short matches fill after
 * that (they matter while the recycling table is still cold). Matches come from the sequence,
 * from earlier requests' outputs (the automaton drafter's history) and from the corpus (which
 * counts `corpusBias` shorter), and from the n-gram index. All parts draft into one tree that dedupes by (parent, token), so a path two sources
 * agree on is verified once; `sources` records which source added each node first.
 */
import { type CommonOptions, drafterContext } from "./context.ts";
import type { KernelSet, TreeKernel } from "./kernels/types.ts";
import { NgramDrafter, type NgramOptions } from "./ngram.ts";
import { DRAFT_SOURCES, SOURCE } from "./sources.ts";
import { type AutomatonOptions, classifyMatches, SuffixAutomatonDrafter } from "./suffix-automaton.ts";
import { type RecyclingOptions, TokenRecyclingDrafter } from "./token-recycling.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate, intOption } from "./validate.ts";

export interface HybridOptions {
  /**
   * Match length from which a match's continuation goes in before the recycling tree (default 3).
   * With the recycling row's second opinion, short matches the row contradicts are classed low and
   * cost little: modeled (fixed warm curves) with chainLength 40, threshold 3 against 5 gave tiny
   * 2.42x against 2.40x, small 2.21x against 2.20x.
   */
  threshold?: number;
  /**
   * Longest chain drafted from a match at least `threshold` long (default 40, SAM-Decoding's draft
   * length; shorter matches draft at most WEAK_CHAIN): the selector cuts what is not worth
   * verifying, so a longer candidate costs only drafting. Modeled against 24 (with threshold 3
   * against 5 too): small 2.17x -> 2.21x (one-shot 2.14x -> 2.18x), tiny 2.41x -> 2.42x (one-shot
   * 2.05x either way).
   */
  chainLength?: number;
}

export interface HybridDrafterOptions extends CommonOptions {
  recycle?: RecyclingOptions;
  sam?: AutomatonOptions;
  ngram?: NgramOptions;
  hybrid?: HybridOptions;
}

// Match sources, in the order ties are broken.
const SEQUENCE = 0;
const HISTORY = 1;
const CORPUS = 2;
const NGRAM = 3;
/**
 * Longest chain drafted from a short match (below the threshold). The selector never kept their
 * deep nodes: modeled (fixed warm curves), chains of 8 against 40 gave tiny 2.10x either way (62
 * prompts), small 1.97x either way (24), and each short chain was drafted apart, copied out and
 * walked again, 40 nodes at a time.
 */
const WEAK_CHAIN = 8;

export class HybridDrafter implements Drafter {
  readonly name = "hybrid";
  readonly sourceNames = DRAFT_SOURCES;
  readonly threshold: number;
  readonly chainLength: number;
  readonly recycle: TokenRecyclingDrafter;
  readonly sam: SuffixAutomatonDrafter;
  readonly ngram: NgramDrafter;
  private readonly vocabSize: number;
  private readonly kernels: KernelSet;
  private tree: TreeKernel | undefined;
  /** Per source (SEQUENCE, HISTORY, CORPUS, NGRAM): match length this step, and as ranked (corpus less its bias). */
  private readonly match = new Int32Array(4);
  private readonly strength = new Int32Array(4);
  /** Match length by draft source (`SOURCE`), -1 for the recycling table: what classifyMatches reads. */
  private readonly bySource = new Int32Array(DRAFT_SOURCES.length);
  private readonly order = [SEQUENCE, HISTORY, CORPUS, NGRAM];

  constructor(opts: HybridDrafterOptions) {
    const ctx = drafterContext(opts);
    const shared = { ...opts, kernels: ctx.kernels };
    this.vocabSize = ctx.vocabSize;
    this.kernels = ctx.kernels;
    this.threshold = intOption(opts.hybrid?.threshold, 3, "hybrid.threshold", 1, 1 << 20);
    this.chainLength = intOption(opts.hybrid?.chainLength, 40, "hybrid.chainLength", 1, 4096);
    this.recycle = new TokenRecyclingDrafter(shared);
    this.sam = new SuffixAutomatonDrafter(shared);
    // n-grams up to 8 long, so an n-gram match can reach the threshold too.
    this.ngram = new NgramDrafter({ ...shared, ngram: { minN: 1, maxN: 8, ...opts.ngram } });
  }

  get candidatesPerRow(): number {
    return this.recycle.candidatesPerRow;
  }

  reset(promptTokens: ArrayLike<number>): void {
    checkTokenIds(promptTokens, this.vocabSize, "prompt");
    this.recycle.reset(promptTokens);
    this.sam.reset(promptTokens);
    this.ngram.reset(promptTokens);
  }

  propose(budget: number): DraftTree {
    const cap = checkBudget(budget);
    if (cap === 0) return emptyTree();
    const tree = (this.tree ??= this.kernels.tree());
    tree.clear(cap);
    const m = this.match;
    const s = this.strength;
    m[SEQUENCE] = s[SEQUENCE] = this.sam.sequenceMatch;
    m[HISTORY] = s[HISTORY] = this.sam.historyMatch;
    m[CORPUS] = this.sam.corpusMatch;
    s[CORPUS] = m[CORPUS] - this.sam.corpusBias;
    m[NGRAM] = s[NGRAM] = this.ngram.matchLength();
    // Strongest first, ties by source: an insertion sort of the four (a comparator sort allocated
    // a closure and its merge buffer every step, right after a forward has swept the caches).
    const order = this.order;
    for (let i = 1; i < order.length; i++) {
      const src = order[i]!;
      let j = i;
      for (; j > 0 && (s[order[j - 1]!]! < s[src]! || (s[order[j - 1]!]! === s[src]! && order[j - 1]! > src)); j--) order[j] = order[j - 1]!;
      order[j] = src;
    }
    for (const src of order) if (s[src]! >= this.threshold) this.draftMatch(tree, src, this.chainLength);
    this.recycle.draftInto(tree, SOURCE.recycle);
    // Short matches go in after the recycling tree, so where one agrees with it the node stays the
    // table's and the tree marks it agreed (nothing else is added after the table's nodes).
    for (const src of order) if (s[src]! < this.threshold && m[src]! > 0) this.draftMatch(tree, src, Math.min(this.chainLength, WEAK_CHAIN));
    // The recycling table's nodes are classed by their rows; the automaton's and the n-gram
    // index's by the match they continue and what the table's row says of them. A table node that
    // a short match spells too is raised two classes: two sources that agree are right more often
    // (measured: .21 -> .40, .43 -> .67, .75 -> .83, .85 -> .90 on edgespec-tiny).
    const out = tree.finish();
    const rows = this.recycle.rowOpinions(out);
    this.recycle.classify(out, SOURCE.recycle);
    const bySource = this.bySource;
    bySource[SOURCE.recycle] = -1;
    bySource[SOURCE.sam] = m[SEQUENCE]!;
    bySource[SOURCE.samHistory] = m[HISTORY]!;
    bySource[SOURCE.samStatic] = m[CORPUS]!;
    bySource[SOURCE.ngram] = m[NGRAM]!;
    classifyMatches(out, bySource, rows);
    const classes = out.classes!;
    const agreed = out.agreed!;
    for (let i = 0; i < out.size; i++) if (agreed[i] && out.sources![i] === SOURCE.recycle && rows[i] === 1) classes[i] = Math.min(classes[i]! + 2, 9);
    return out;
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.vocabSize);
    this.recycle.learn(update);
    this.sam.learn(update);
    this.ngram.learn(update);
  }

  /** The recycling table (the hybrid's cross-request memory) as bytes. */
  save(): Uint8Array {
    return this.recycle.save();
  }

  load(bytes: Uint8Array): void {
    this.recycle.load(bytes);
  }

  memoryBytes(): number {
    return this.recycle.memoryBytes() + this.sam.memoryBytes() + this.ngram.memoryBytes() + (this.tree?.memoryBytes() ?? 0);
  }

  dispose(): void {
    this.recycle.dispose();
    this.sam.dispose();
    this.ngram.dispose();
    this.tree?.dispose();
  }

  private draftMatch(tree: TreeKernel, src: number, maxLen: number): void {
    if (src === SEQUENCE) this.sam.draftSequence(tree, maxLen, 1);
    else if (src === HISTORY) this.sam.draftHistory(tree, maxLen, 1);
    else if (src === CORPUS) this.sam.draftCorpus(tree, maxLen, 1);
    else this.ngram.draftInto(tree, maxLen, 1);
  }
}
