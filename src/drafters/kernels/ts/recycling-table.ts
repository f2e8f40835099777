/**
 * Token Recycling's adjacency table, TypeScript twin of wasm/src/table.rs. Row t = the model's
 * top-k next tokens after token t, best first, -1 = none yet. Stored as Uint16 (0xFFFF = none)
 * for vocabularies below 65535 — 512 KiB instead of 1 MiB at 32k × 8 — and as Int32 above.
 */
import { NARROW_TABLE_VOCAB_LIMIT, type RecyclingTableKernel, type TreeKernel } from "../types.ts";
import { tsTree } from "./grow.ts";

const NONE16 = 0xffff;

export class TsRecyclingTable implements RecyclingTableKernel {
  private readonly narrow: Uint16Array | undefined;
  private readonly wide: Int32Array | undefined;
  private templateParents = new Int32Array(0);
  private templateRanks = new Int32Array(0);
  private placed = new Int32Array(0);

  constructor(
    readonly vocabSize: number,
    readonly k: number,
  ) {
    if (vocabSize < NARROW_TABLE_VOCAB_LIMIT) this.narrow = new Uint16Array(vocabSize * k).fill(NONE16);
    else this.wide = new Int32Array(vocabSize * k).fill(-1);
  }

  get(row: number, column: number): number {
    const at = row * this.k + column;
    if (this.wide) return this.wide[at]!;
    const v = this.narrow![at]!;
    return v === NONE16 ? -1 : v;
  }

  update(tokens: ArrayLike<number>, topK: Int32Array, kIn: number): void {
    const k = this.k;
    for (let i = 0; i < tokens.length; i++) {
      const src = i * kIn;
      const at = tokens[i]! * k;
      if (this.wide) {
        for (let j = 0; j < k; j++) this.wide[at + j] = j < kIn ? topK[src + j]! : -1;
      } else {
        // & 0xffff: -1 becomes 0xFFFF (none), exactly like the u16 cast in Rust.
        for (let j = 0; j < k; j++) this.narrow![at + j] = j < kIn ? topK[src + j]! & 0xffff : NONE16;
      }
    }
  }

  setTemplate(parents: Int32Array, ranks: Int32Array): void {
    this.templateParents = Int32Array.from(parents);
    this.templateRanks = Int32Array.from(ranks);
    this.placed = new Int32Array(parents.length);
  }

  expandInto(into: TreeKernel, root: number, source: number): void {
    const tree = tsTree(into);
    if (root < 0 || root >= this.vocabSize) return;
    const placed = this.placed.fill(-1);
    for (let i = 0; i < this.templateParents.length; i++) {
      const tp = this.templateParents[i]!;
      let parent = -1;
      let row = root;
      if (tp >= 0) {
        parent = placed[tp]!;
        if (parent < 0) continue;
        row = tree.token(parent);
      }
      const token = this.get(row, this.templateRanks[i]!);
      if (token >= 0) placed[i] = tree.add(parent, token, source);
    }
  }

  exportRows(): Int32Array {
    if (this.wide) return this.wide.slice();
    const out = new Int32Array(this.narrow!.length);
    for (let i = 0; i < out.length; i++) {
      const v = this.narrow![i]!;
      out[i] = v === NONE16 ? -1 : v;
    }
    return out;
  }

  importRows(ids: Int32Array): void {
    if (this.wide) this.wide.set(ids.subarray(0, this.wide.length));
    else for (let i = 0; i < this.narrow!.length; i++) this.narrow![i] = ids[i]! & 0xffff;
  }

  clear(): void {
    this.narrow?.fill(NONE16);
    this.wide?.fill(-1);
  }

  memoryBytes(): number {
    return (this.narrow?.byteLength ?? 0) + (this.wide?.byteLength ?? 0) + 4 * (this.templateParents.length * 3);
  }

  dispose(): void {}
}
