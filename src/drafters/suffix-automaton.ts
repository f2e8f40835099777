/**
 * Suffix-automaton drafter (SAM-Decoding, arXiv 2411.10666): a dynamic automaton over prompt +
 * output, rebuilt per request; one over earlier requests' outputs (`RequestHistory`: drafts
 * across requests, bounded); and optionally a static corpus (`CorpusIndex`, a suffix array).
 * Each step the cursor of each holds the longest suffix of the sequence that occurred before (in
 * the sequence / in earlier outputs / in the corpus); the draft is the text that followed its
 * first occurrence (in the corpus: its most frequent continuation), as a chain, plus further
 * branches, the longest match's source first. Amortised O(1) per token (the corpus: O(log n)).
 *
 * Memory cap (dynamic): `maxTokens` tokens of sequence (default 256k). Past it the automaton is
 * rebuilt from the most recent half, so matches then only reach back that far.
 */
import { type CommonOptions, type DrafterContext, drafterContext } from "./context.ts";
import type { CorpusCursor } from "./corpus-cursor.ts";
import type { CorpusIndex } from "./corpus-index.ts";
import type { AutomatonKernel, TreeKernel } from "./kernels/types.ts";
import { TokenizerMismatchError } from "./persist.ts";
import { DEFAULT_HISTORY_MAX_TOKENS, RequestHistory } from "./request-history.ts";
import { DRAFT_SOURCES, SOURCE } from "./sources.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate, intOption } from "./validate.ts";

export const DEFAULT_SEQUENCE_MAX_TOKENS = 1 << 18;

/**
 * Confidence of match nodes: the longer the match a node continues (the match at drafting plus
 * the chain above the node), the likelier the text repeats (SAM-Decoding's observation): classes
 * 5–9 for lengths up to 2, 4, 8, 16 and longer. A second opinion lowers them: where the model's
 * own last top-1 after the node's parent token (a Token Recycling row) names another token, the
 * match was right .05, .31, .53–.69, .46–.59 and .88–.90 of the time by those lengths, against
 * .67, .94–.96 and .99 where the row agrees (`bench/modeled.ts --rates`, 18 prompts on
 * edgespec-tiny, 12 on edgespec-small, 2026-12-06). Raising the agreeing ones as well measured
 * worse than leaving them (modeled: tiny 2.36x against 2.37x, small 2.14x against 2.16x).
 */
const MATCH_CLASSES = [5, 6, 7, 8, 9];
const DIFFERING_MATCH_CLASSES = [1, 3, 6, 5, 9];

/** The class of a node continuing a match of `length` tokens; `row`: 0 when its parent's row names another token (else 1, or -1 with no row). */
export function matchClass(length: number, row = -1): number {
  const bucket = length <= 2 ? 0 : length <= 4 ? 1 : length <= 8 ? 2 : length <= 16 ? 3 : 4;
  return (row === 0 ? DIFFERING_MATCH_CLASSES : MATCH_CLASSES)[bucket]!;
}

/**
 * Classes the match nodes of `tree`. `matches[source]`: the match length of the source that added
 * a node, -1 (or absent) for sources that are not matches (left as they are); `rows`: per node,
 * what its parent's row says of it (see `matchClass`). Lengths come in as an array, read once per
 * step, because asking the kernels per node cost ~5 us a step right after a forward.
 */
export function classifyMatches(tree: DraftTree, matches: ArrayLike<number>, rows?: Int8Array): DraftTree {
  const classes = (tree.classes ??= new Uint8Array(tree.size));
  const sources = tree.sources;
  if (!sources) return tree;
  for (let i = 0; i < tree.size; i++) {
    const match = matches[sources[i]!] ?? -1;
    if (match >= 0) classes[i] = matchClass(match + tree.depths[i]! - 1, rows?.[i]);
  }
  return tree;
}

export interface AutomatonOptions {
  /** Longest chain drafted (default 40, SAM-Decoding's draft length); branch b gets maxChain >> b. */
  maxChain?: number;
  /** Continuations of distinct occurrences to draft (default 3). */
  branches?: number;
  /** Shortest match worth drafting from (default 1). */
  minMatch?: number;
  /** Sequence tokens kept before the dynamic automaton is rebuilt from the recent half. */
  maxTokens?: number;
  /** A static corpus, built with the same tokenizer. */
  corpus?: CorpusIndex;
  /** Corpus matches count this much shorter when compared with sequence matches (default 5, as in SAM-Decoding). */
  corpusBias?: number;
  /** Earlier requests' output tokens kept for drafting (default 65536; 0 = none). */
  historyTokens?: number;
}

export class SuffixAutomatonDrafter implements Drafter {
  readonly name = "sam";
  readonly sourceNames = DRAFT_SOURCES;
  readonly maxChain: number;
  readonly branches: number;
  readonly minMatch: number;
  readonly corpusBias: number;
  private readonly ctx: DrafterContext;
  private readonly sequence: AutomatonKernel;
  /** This drafter's cursor in the shared corpus. */
  private readonly corpus: CorpusCursor | undefined;
  private readonly history: RequestHistory | undefined;
  private tree: TreeKernel | undefined;
  /** matchLengths()'s array: -1 but at this drafter's sources. */
  private readonly lengths = new Int32Array(DRAFT_SOURCES.length).fill(-1);

  constructor(opts: CommonOptions & { sam?: AutomatonOptions }) {
    this.ctx = drafterContext(opts);
    const o = opts.sam ?? {};
    this.maxChain = intOption(o.maxChain, 40, "sam.maxChain", 1, 4096);
    this.branches = intOption(o.branches, 3, "sam.branches", 1, 16);
    this.minMatch = intOption(o.minMatch, 1, "sam.minMatch", 1, 1 << 20);
    this.corpusBias = intOption(o.corpusBias, 5, "sam.corpusBias", 0, 1 << 20);
    this.sequence = this.ctx.kernels.automaton(intOption(o.maxTokens, DEFAULT_SEQUENCE_MAX_TOKENS, "sam.maxTokens", 16, 1 << 28));
    const historyTokens = intOption(o.historyTokens, DEFAULT_HISTORY_MAX_TOKENS, "sam.historyTokens", 0, 1 << 26);
    if (historyTokens > 0) this.history = new RequestHistory(this.ctx.kernels, Math.max(16, historyTokens));
    if (o.corpus) {
      const own = { fingerprint: this.ctx.fingerprint, vocabSize: this.ctx.vocabSize };
      const c = o.corpus.identity;
      if (c.fingerprint !== own.fingerprint || c.vocabSize !== own.vocabSize) throw new TokenizerMismatchError("corpus index", c, own);
      this.corpus = o.corpus.cursor();
    }
  }

  /** Length of the longest suffix of the sequence that occurred earlier in it. */
  get sequenceMatch(): number {
    return this.sequence.cursorLength;
  }

  /** Length of the longest suffix of the sequence found in the corpus (0 without one). */
  get corpusMatch(): number {
    return this.corpus?.matchLength ?? 0;
  }

  /** Length of the longest suffix of the sequence found in earlier requests' outputs. */
  get historyMatch(): number {
    return this.history?.matchLength ?? 0;
  }

  reset(promptTokens: ArrayLike<number>): void {
    checkTokenIds(promptTokens, this.ctx.vocabSize, "prompt");
    this.sequence.reset();
    this.sequence.append(promptTokens);
    this.corpus?.reset();
    this.corpus?.advance(promptTokens);
    this.history?.begin(promptTokens);
  }

  propose(budget: number): DraftTree {
    const cap = checkBudget(budget);
    if (cap === 0) return emptyTree();
    this.tree ??= this.ctx.kernels.tree();
    this.tree.clear(cap);
    // Longest match first (corpus matches count corpusBias shorter); ties: sequence, history, corpus.
    const strength = [this.sequence.cursorLength, this.historyMatch, this.corpusMatch - this.corpusBias];
    const order = [0, 1, 2].sort((a, b) => strength[b]! - strength[a]! || a - b);
    for (const which of order) {
      if (which === 0) this.draftSequence(this.tree, this.maxChain, this.branches);
      else if (which === 1) this.draftHistory(this.tree, this.maxChain, this.branches);
      else this.draftCorpus(this.tree, this.maxChain, this.branches);
    }
    // Branches after the first follow shorter matches than their source's longest: classed by
    // the longest too (the selector tells them apart by sibling rank at the root). Measured with
    // bench/modeled.ts: tiny 2.10x -> 2.21x, small 2.03x -> 2.12x.
    return classifyMatches(this.tree.finish(), this.matchLengths());
  }

  /**
   * The current match length by draft source (index: a `SOURCE` value), -1 for sources that are
   * not this drafter's. One array of the drafter's, rewritten by the next call (propose asks every
   * step, right after a forward, where an allocation costs more than the call's work).
   */
  matchLengths(): Int32Array {
    const out = this.lengths;
    out[SOURCE.sam] = this.sequenceMatch;
    out[SOURCE.samHistory] = this.historyMatch;
    out[SOURCE.samStatic] = this.corpusMatch;
    return out;
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.ctx.vocabSize);
    this.learn(update);
  }

  /** `observe` without the checks (the hybrid checks once for all its parts). */
  learn(update: VerifyUpdate): void {
    this.sequence.append(update.accepted);
    this.corpus?.advance(update.accepted);
    this.history?.learn(update.accepted);
  }

  draftHistory(tree: TreeKernel, maxLen: number, branches: number): void {
    this.history?.draftInto(tree, maxLen, branches, this.minMatch, SOURCE.samHistory);
  }

  draftSequence(tree: TreeKernel, maxLen: number, branches: number): void {
    this.sequence.draftInto(tree, maxLen, branches, this.minMatch, SOURCE.sam);
  }

  draftCorpus(tree: TreeKernel, maxLen: number, branches: number): void {
    this.corpus?.draftInto(tree, maxLen, branches, this.minMatch, SOURCE.samStatic);
  }

  memoryBytes(): number {
    return this.sequence.memoryBytes() + (this.history?.memoryBytes() ?? 0) + (this.tree?.memoryBytes() ?? 0);
  }

  dispose(): void {
    this.sequence.dispose();
    this.history?.dispose();
    this.tree?.dispose();
  }
}
