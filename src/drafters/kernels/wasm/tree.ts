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
    const out = ex.tree_out(this.raw);
    return {
      size: n,
      tokens: this.heap.read(out, n),
      parents: this.heap.read(out, n, n),
      depths: this.heap.read(out, n, 2 * n),
      sources: this.heap.readBytes(out, n, 3 * n),
      agreed: this.heap.readBytes(out, n, 4 * n),
    };
  }

  memoryBytes(): number {
    return this.heap.exports.tree_memory(this.raw);
  }
}
