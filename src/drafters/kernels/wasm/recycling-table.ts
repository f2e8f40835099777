/** WASM Token Recycling table kernel: wasm/src/table.rs behind the RecyclingTableKernel interface. */
import type { RecyclingTableKernel, TreeKernel } from "../types.ts";
import { type WasmHeap, WasmObject, wasmTreeHandle } from "./heap.ts";

export class WasmRecyclingTable extends WasmObject implements RecyclingTableKernel {
  constructor(
    heap: WasmHeap,
    readonly vocabSize: number,
    readonly k: number,
  ) {
    const ex = heap.exports;
    super(heap, ex.table_new(vocabSize, k), (h) => ex.table_free(h));
  }

  update(tokens: ArrayLike<number>, topK: Int32Array, kIn: number): void {
    const rows = tokens.length;
    if (rows === 0) return;
    const ex = this.heap.exports;
    const input = ex.table_input(this.raw, rows + rows * kIn);
    this.heap.write(input, tokens);
    this.heap.write(input, topK, rows, rows * kIn);
    ex.table_update(this.raw, rows, kIn);
  }

  setTemplate(parents: Int32Array, ranks: Int32Array): void {
    const ex = this.heap.exports;
    const input = ex.table_input(this.raw, 2 * parents.length);
    this.heap.write(input, parents);
    this.heap.write(input, ranks, parents.length);
    ex.table_set_template(this.raw, parents.length);
  }

  expandInto(tree: TreeKernel, root: number, source: number): void {
    this.heap.exports.table_expand(this.raw, wasmTreeHandle(tree, this.heap), root, source);
  }

  get(row: number, column: number): number {
    return this.heap.exports.table_get(this.raw, row, column);
  }

  exportRows(): Int32Array {
    const rows = this.heap.read(this.heap.exports.table_export(this.raw), this.vocabSize * this.k);
    this.heap.exports.table_export_done(this.raw);
    return rows;
  }

  importRows(ids: Int32Array): void {
    const ex = this.heap.exports;
    this.heap.write(ex.table_input(this.raw, this.vocabSize * this.k), ids.subarray(0, this.vocabSize * this.k));
    ex.table_import(this.raw);
  }

  clear(): void {
    this.heap.exports.table_clear(this.raw);
  }

  memoryBytes(): number {
    return this.heap.exports.table_memory(this.raw);
  }
}
