/**
 * Drafts across requests: an automaton over the outputs of earlier requests on the same drafter
 * (SuffixDecoding's global tree, llama.cpp's shared n-gram pool). A server keeps one drafter per
 * name for its lifetime, so an agent loop's tenth request finds the JSON shape, the boilerplate or
 * the tool call that the first nine produced. Each request's own prompt and output are the
 * dynamic automaton's business; this holds what came before.
 *
 * Bounded: at most `maxTokens` tokens (separators included). A request's output joins when the
 * next request starts; when it would not fit, the oldest outputs are dropped until the kept ones
 * fill at most half the cap, and the automaton is rebuilt from them (O(kept) once per half-cap of
 * new text: amortised O(1) per token). Of an output longer than the cap, its first `maxTokens - 1`
 * tokens are kept.
 */
import type { AutomatonKernel, KernelSet, TreeKernel } from "./kernels/types.ts";

export const DEFAULT_HISTORY_MAX_TOKENS = 1 << 16;
const SEPARATOR = -1;

export class RequestHistory {
  private readonly automaton: AutomatonKernel;
  /** The outputs the automaton holds, oldest first (for rebuilding after eviction). */
  private readonly kept: Int32Array[] = [];
  private keptTokens = 0;
  /** The running request's output so far (at most maxTokens - 1 tokens: its start is kept). */
  private pending: number[] = [];
  private cursorState = 0;
  private cursorLength = 0;

  constructor(
    kernels: KernelSet,
    readonly maxTokens: number,
  ) {
    this.automaton = kernels.automaton(maxTokens + 1);
  }

  /** A request starts: the previous one's output joins the history; the cursor follows the prompt. */
  begin(prompt: ArrayLike<number>): void {
    if (this.pending.length > 0) this.add(Int32Array.from(this.pending));
    this.pending = [];
    this.cursorState = 0;
    this.cursorLength = 0;
    this.advance(prompt);
  }

  /** Tokens the running request accepted. */
  learn(tokens: ArrayLike<number>): void {
    const room = this.maxTokens - 1 - this.pending.length;
    for (let i = 0; i < Math.min(room, tokens.length); i++) this.pending.push(tokens[i]!);
    this.advance(tokens);
  }

  /** Length of the longest suffix of the running sequence found in earlier outputs. */
  get matchLength(): number {
    return this.cursorLength;
  }

  /** Earlier outputs' tokens held (separators included). */
  get tokenCount(): number {
    return this.automaton.length;
  }

  draftInto(tree: TreeKernel, maxLen: number, branches: number, minMatch: number, source: number): void {
    if (this.cursorLength < minMatch) return;
    this.automaton.setCursor(this.cursorState, this.cursorLength);
    this.automaton.draftInto(tree, maxLen, branches, minMatch, source);
  }

  memoryBytes(): number {
    return this.automaton.memoryBytes() + this.keptTokens * 4 + this.pending.length * 8;
  }

  dispose(): void {
    this.automaton.dispose();
  }

  private advance(tokens: ArrayLike<number>): void {
    if (tokens.length === 0 || this.automaton.length === 0) return;
    this.automaton.setCursor(this.cursorState, this.cursorLength);
    this.automaton.advance(tokens);
    this.cursorState = this.automaton.cursorState;
    this.cursorLength = this.automaton.cursorLength;
  }

  private add(output: Int32Array): void {
    const doc = output.subarray(0, this.maxTokens - 1); // learn() keeps no more; a guard all the same
    if (this.keptTokens + doc.length + 1 > this.maxTokens) {
      // Drop the oldest until the kept outputs and this one fill at most half the cap, then rebuild.
      while (this.kept.length > 0 && this.keptTokens + doc.length + 1 > this.maxTokens >> 1) this.keptTokens -= this.kept.shift()!.length + 1;
      this.automaton.reset();
      for (const d of this.kept) this.extend(d);
    }
    this.kept.push(doc);
    this.keptTokens += doc.length + 1;
    this.extend(doc);
  }

  private extend(doc: Int32Array): void {
    if (this.automaton.length > 0) this.automaton.extend([SEPARATOR]);
    this.automaton.extend(doc);
  }
}
