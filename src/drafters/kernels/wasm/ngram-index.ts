/** WASM n-gram index kernel: wasm/src/ngram.rs behind the NgramIndexKernel interface. */
import type { NgramIndexKernel, TreeKernel } from "../types.ts";
import { type WasmHeap, WasmObject, wasmTreeHandle } from "./heap.ts";

export class WasmNgramIndex extends WasmObject implements NgramIndexKernel {
  constructor(heap: WasmHeap, minN: number, maxN: number, maxTokens: number) {
    const ex = heap.exports;
    super(heap, ex.ngram_new(minN, maxN, maxTokens), (h) => ex.ngram_free(h));
  }

  reset(): void {
    this.heap.exports.ngram_reset(this.raw);
  }

  append(tokens: ArrayLike<number>): void {
    if (tokens.length === 0) return;
    const ex = this.heap.exports;
    this.heap.write(ex.ngram_input(this.raw, tokens.length), tokens);
    ex.ngram_append(this.raw, tokens.length);
  }

  get length(): number {
    return this.heap.exports.ngram_length(this.raw);
  }

  matchLength(): number {
    return this.heap.exports.ngram_match_len(this.raw);
  }

  matchEnd(): number {
    return this.heap.exports.ngram_match_end(this.raw);
  }

  draftInto(tree: TreeKernel, maxLen: number, maxBranches: number, source: number): void {
    this.heap.exports.ngram_draft(this.raw, wasmTreeHandle(tree, this.heap), maxLen, maxBranches, source);
  }

  memoryBytes(): number {
    return this.heap.exports.ngram_memory(this.raw);
  }
}
