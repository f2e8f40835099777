/**
 * Suffix-automaton drafter (SAM-Decoding, arXiv 2411.10666): a dynamic automaton over prompt +
 * output, rebuilt per request, and optionally a static one over a corpus (`CorpusAutomaton`).
 * Each step the cursor of each holds the longest suffix of the sequence that occurred before (in
 * the sequence / in the corpus); the draft is the text that followed its first occurrence, as a
 * chain, plus shorter matches' continuations as further branches. Amortised O(1) per token.
 *
 * Memory cap (dynamic): `maxTokens` tokens of sequence (default 256k). Past it the automaton is
 * rebuilt from the most recent half, so matches then only reach back that far.
 */
import { type CommonOptions, type DrafterContext, drafterContext } from "./context.ts";
import type { CorpusAutomaton } from "./corpus-automaton.ts";
import type { AutomatonKernel, TreeKernel } from "./kernels/types.ts";
import { TokenizerMismatchError } from "./persist.ts";
import { DRAFT_SOURCES, SOURCE } from "./sources.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate, intOption } from "./validate.ts";

export const DEFAULT_SEQUENCE_MAX_TOKENS = 1 << 18;

export interface AutomatonOptions {
  /** Longest chain drafted (default 40, SAM-Decoding's draft length); branch b gets maxChain >> b. */
  maxChain?: number;
  /** Continuations of distinct occurrences to draft (default 3). */
  branches?: number;
  /** Shortest match worth drafting from (default 1). */
  minMatch?: number;
  /** Sequence tokens kept before the dynamic automaton is rebuilt from the recent half. */
  maxTokens?: number;
  /** A static automaton over a corpus, built with the same tokenizer. */
  corpus?: CorpusAutomaton;
  /** Corpus matches count this much shorter when compared with sequence matches (default 5, as in SAM-Decoding). */
  corpusBias?: number;
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
  private readonly corpus: AutomatonKernel | undefined;
  /** This drafter's cursor in the shared corpus automaton. */
  private corpusState = 0;
  private corpusLength = 0;
  private tree: TreeKernel | undefined;

  constructor(opts: CommonOptions & { sam?: AutomatonOptions }) {
    this.ctx = drafterContext(opts);
    const o = opts.sam ?? {};
    this.maxChain = intOption(o.maxChain, 40, "sam.maxChain", 1, 4096);
    this.branches = intOption(o.branches, 3, "sam.branches", 1, 16);
    this.minMatch = intOption(o.minMatch, 1, "sam.minMatch", 1, 1 << 20);
    this.corpusBias = intOption(o.corpusBias, 5, "sam.corpusBias", 0, 1 << 20);
    this.sequence = this.ctx.kernels.automaton(intOption(o.maxTokens, DEFAULT_SEQUENCE_MAX_TOKENS, "sam.maxTokens", 16, 1 << 28));
    if (o.corpus) {
      const own = { fingerprint: this.ctx.fingerprint, vocabSize: this.ctx.vocabSize };
      const c = o.corpus.identity;
      if (c.fingerprint !== own.fingerprint || c.vocabSize !== own.vocabSize) throw new TokenizerMismatchError("corpus automaton", c, own);
      this.corpus = o.corpus.kernelFor(this.ctx.kernels);
    }
  }

  /** Length of the longest suffix of the sequence that occurred earlier in it. */
  get sequenceMatch(): number {
    return this.sequence.cursorLength;
  }

  /** Length of the longest suffix of the sequence found in the corpus (0 without one). */
  get corpusMatch(): number {
    return this.corpusLength;
  }

  reset(promptTokens: ArrayLike<number>): void {
    checkTokenIds(promptTokens, this.ctx.vocabSize, "prompt");
    this.sequence.reset();
    this.sequence.append(promptTokens);
    this.corpusState = 0;
    this.corpusLength = 0;
    this.advanceCorpus(promptTokens);
  }

  propose(budget: number): DraftTree {
    const cap = checkBudget(budget);
    if (cap === 0) return emptyTree();
    this.tree ??= this.ctx.kernels.tree();
    this.tree.clear(cap);
    const corpusFirst = this.corpusLength - this.corpusBias > this.sequence.cursorLength;
    if (corpusFirst) this.draftCorpus(this.tree, this.maxChain, this.branches);
    this.draftSequence(this.tree, this.maxChain, this.branches);
    if (!corpusFirst) this.draftCorpus(this.tree, this.maxChain, this.branches);
    return this.tree.finish();
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.ctx.vocabSize);
    this.learn(update);
  }

  /** `observe` without the checks (the hybrid checks once for all its parts). */
  learn(update: VerifyUpdate): void {
    this.sequence.append(update.accepted);
    this.advanceCorpus(update.accepted);
  }

  draftSequence(tree: TreeKernel, maxLen: number, branches: number): void {
    this.sequence.draftInto(tree, maxLen, branches, this.minMatch, SOURCE.sam);
  }

  draftCorpus(tree: TreeKernel, maxLen: number, branches: number): void {
    if (!this.corpus || this.corpusLength < this.minMatch) return;
    this.corpus.setCursor(this.corpusState, this.corpusLength);
    this.corpus.draftInto(tree, maxLen, branches, this.minMatch, SOURCE.samStatic);
  }

  memoryBytes(): number {
    return this.sequence.memoryBytes() + (this.tree?.memoryBytes() ?? 0);
  }

  dispose(): void {
    this.sequence.dispose();
    this.tree?.dispose();
  }

  private advanceCorpus(tokens: ArrayLike<number>): void {
    if (!this.corpus || tokens.length === 0) return;
    this.corpus.setCursor(this.corpusState, this.corpusLength);
    this.corpus.advance(tokens);
    this.corpusState = this.corpus.cursorState;
    this.corpusLength = this.corpus.cursorLength;
  }
}
