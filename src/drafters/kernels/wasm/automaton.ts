/** WASM suffix automaton kernel: wasm/src/sam.rs behind the AutomatonKernel interface. */
import { EdgespecError } from "../../../errors.ts";
import type { AutomatonArrays, AutomatonKernel, TreeKernel } from "../types.ts";
import { type WasmHeap, WasmObject, wasmTreeHandle } from "./heap.ts";

/** Array ids of `sam_array`, in AutomatonArrays order. */
const ARRAYS = ["text", "len", "link", "firstEnd", "edgeFrom", "edgeToken", "edgeTarget"] as const;

export class WasmAutomaton extends WasmObject implements AutomatonKernel {
  constructor(heap: WasmHeap, maxTokens: number) {
    const ex = heap.exports;
    super(heap, ex.sam_new(maxTokens), (h) => ex.sam_free(h));
  }

  reset(): void {
    this.heap.exports.sam_reset(this.raw);
  }

  append(tokens: ArrayLike<number>): void {
    if (this.feed(tokens)) this.heap.exports.sam_append(this.raw, tokens.length);
  }

  extend(tokens: ArrayLike<number>): void {
    if (this.feed(tokens)) this.heap.exports.sam_extend(this.raw, tokens.length);
  }

  advance(tokens: ArrayLike<number>): void {
    if (this.feed(tokens)) this.heap.exports.sam_advance(this.raw, tokens.length);
  }

  setCursor(state: number, length: number): void {
    this.heap.exports.sam_set_cursor(this.raw, state, length);
  }
  get cursorState(): number {
    return this.heap.exports.sam_cursor_state(this.raw);
  }
  get cursorLength(): number {
    return this.heap.exports.sam_cursor_len(this.raw);
  }
  get matchEnd(): number {
    return this.heap.exports.sam_match_end(this.raw);
  }
  get length(): number {
    return this.heap.exports.sam_length(this.raw);
  }
  get stateCount(): number {
    return this.heap.exports.sam_state_count(this.raw);
  }
  get edgeCount(): number {
    return this.heap.exports.sam_edge_count(this.raw);
  }

  draftInto(tree: TreeKernel, maxLen: number, maxBranches: number, minMatch: number, source: number): void {
    this.heap.exports.sam_draft(this.raw, wasmTreeHandle(tree, this.heap), maxLen, maxBranches, minMatch, source);
  }

  exportArrays(): AutomatonArrays {
    const ex = this.heap.exports;
    const counts = [this.length, this.stateCount, this.stateCount, this.stateCount, this.edgeCount, this.edgeCount, this.edgeCount];
    const out = {} as Record<(typeof ARRAYS)[number], Int32Array>;
    ARRAYS.forEach((name, which) => (out[name] = this.heap.read(ex.sam_array(this.raw, which), counts[which]!)));
    return { ...out, last: ex.sam_last(this.raw) };
  }

  importArrays(a: AutomatonArrays): void {
    const ex = this.heap.exports;
    ex.sam_import_begin(this.raw, a.text.length, a.len.length, a.edgeFrom.length, a.last);
    ARRAYS.forEach((name, which) => this.heap.write(ex.sam_array(this.raw, which), a[name]));
    if (ex.sam_import_finish(this.raw) !== 1) throw new EdgespecError("invalid_argument", "suffix automaton arrays hold a duplicate transition");
  }

  memoryBytes(): number {
    return this.heap.exports.sam_memory(this.raw);
  }

  /** Copies tokens into the object's input buffer; false when there is nothing to do. */
  private feed(tokens: ArrayLike<number>): boolean {
    if (tokens.length === 0) return false;
    this.heap.write(this.heap.exports.sam_input(this.raw, tokens.length), tokens);
    return true;
  }
}
