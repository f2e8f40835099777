/** WASM tree kernel: wasm/src/tree.rs behind the TreeKernel interface. */
import type { DraftTree } from "../../types.ts";
import type { TreeKernel } from "../types.ts";
import { type WasmHeap, WasmObject } from "./heap.ts";

export class WasmTree extends WasmObject implements TreeKernel {
  constructor(heap: WasmHeap) {
    const ex = heap.exports;
    super(heap, ex.tree_new(), (h) => ex.tree_free(h));
  }

  clear(capacity: number): void {
    this.heap.exports.tree_clear(this.raw, capacity);
  }

  add(parent: number, token: number, source: number): number {
    return this.heap.exports.tree_add(this.raw, parent, token, source);
  }

  get size(): number {
    return this.heap.exports.tree_size(this.raw);
  }

  finish(): DraftTree {
    const ex = this.heap.exports;
    const n = ex.tree_finish(this.raw);
    // Five blocks of n int32s (tokens, parents, depths, sources, agreed), copied out in one pass:
    // this runs every step, right after a forward, where five slices and loops cost ~20% more.
    const at = ex.tree_out(this.raw) >>> 2;
    const view = this.heap.view(at + 5 * n);
    const tree = { size: n, tokens: new Int32Array(n), parents: new Int32Array(n), depths: new Int32Array(n), sources: new Uint8Array(n), agreed: new Uint8Array(n) };
    for (let i = 0; i < n; i++) {
      tree.tokens[i] = view[at + i]!;
      tree.parents[i] = view[at + n + i]!;
      tree.depths[i] = view[at + 2 * n + i]!;
      tree.sources[i] = view[at + 3 * n + i]!;
      tree.agreed[i] = view[at + 4 * n + i]!;
    }
    return tree;
  }

  memoryBytes(): number {
    return this.heap.exports.tree_memory(this.raw);
  }
}
