/**
 * Builds a DraftTree node by node with dedupe by (parent, token): when two proposers guess the
 * same root-to-node path they share its nodes, so no node is verified twice. `finish` returns the
 * tree breadth-first (stable by depth, so insertion order is kept within a level).
 * This is also the TypeScript tree kernel; the Rust twin is wasm/src/tree.rs.
 */
import type { DraftTree } from "./types.ts";
import type { TreeKernel } from "./kernels/types.ts";

export class TreeBuilder implements TreeKernel {
  private capacity = 0;
  private count = 0;
  private tokens = new Int32Array(16);
  private parents = new Int32Array(16);
  private depths = new Int32Array(16);
  private sources = new Uint8Array(16);
  private classes = new Uint8Array(16);
  private agreed = new Uint8Array(16);
  /** Whether a node since the last clear was given a confidence class (finish then copies them). */
  private classed = false;
  /** Slot 0 = the implicit root, slot i + 1 = node i; -1 = no child yet. */
  private firstChild = new Int32Array(17).fill(-1);
  private nextSibling = new Int32Array(16);

  constructor(capacity = 0) {
    this.clear(capacity);
  }

  get size(): number {
    return this.count;
  }

  clear(capacity: number): void {
    this.capacity = Math.max(0, capacity);
    this.count = 0;
    this.classed = false;
    this.firstChild[0] = -1;
  }

  /** `confidence`: the node's class (`DraftTree.classes`), kept by the node's first adder; a node found again is marked agreed when `source` is another. */
  add(parent: number, token: number, source: number, confidence = 0): number {
    const slot = parent + 1;
    for (let c = this.firstChild[slot]!; c >= 0; c = this.nextSibling[c]!) {
      if (this.tokens[c] !== token) continue;
      if (this.sources[c] !== source) this.agreed[c] = 1;
      return c;
    }
    if (this.count >= this.capacity) return -1;
    const node = this.count++;
    if (node >= this.tokens.length) this.grow();
    this.tokens[node] = token;
    this.parents[node] = parent;
    this.depths[node] = parent < 0 ? 1 : this.depths[parent]! + 1;
    this.sources[node] = source;
    this.classes[node] = confidence;
    this.agreed[node] = 0;
    if (confidence > 0) this.classed = true;
    this.nextSibling[node] = this.firstChild[slot]!;
    this.firstChild[slot] = node;
    this.firstChild[node + 1] = -1;
    return node;
  }

  /** Adds `stream[start .. start+len)` as a path under the root; stops at a negative token or when full. */
  addChain(stream: Int32Array, start: number, len: number, source: number, confidence?: (depth: number) => number): void {
    let parent = -1;
    for (let j = start; j < start + len; j++) {
      const token = stream[j]!;
      if (token < 0) break;
      const node = this.add(parent, token, source, confidence?.(j - start + 1));
      if (node < 0) break;
      parent = node;
    }
  }

  /** Token of a node already added. */
  token(node: number): number {
    return this.tokens[node]!;
  }

  finish(): DraftTree {
    const n = this.count;
    let maxDepth = 0;
    for (let i = 0; i < n; i++) maxDepth = Math.max(maxDepth, this.depths[i]!);
    const start = new Int32Array(maxDepth + 2);
    for (let i = 0; i < n; i++) start[this.depths[i]! + 1]!++;
    for (let d = 1; d <= maxDepth + 1; d++) start[d]! += start[d - 1]!;
    const at = new Int32Array(n);
    for (let i = 0; i < n; i++) at[i] = start[this.depths[i]!]!++;
    const tree: DraftTree = {
      size: n,
      tokens: new Int32Array(n),
      parents: new Int32Array(n),
      depths: new Int32Array(n),
      sources: new Uint8Array(n),
      agreed: new Uint8Array(n),
      ...(this.classed ? { classes: new Uint8Array(n) } : {}),
    };
    for (let i = 0; i < n; i++) {
      const j = at[i]!;
      const p = this.parents[i]!;
      tree.tokens[j] = this.tokens[i]!;
      tree.parents[j] = p < 0 ? -1 : at[p]!;
      tree.depths[j] = this.depths[i]!;
      tree.sources![j] = this.sources[i]!;
      tree.agreed![j] = this.agreed[i]!;
      if (tree.classes) tree.classes[j] = this.classes[i]!;
    }
    return tree;
  }

  memoryBytes(): number {
    return (
      this.tokens.byteLength +
      this.parents.byteLength +
      this.depths.byteLength +
      this.sources.byteLength +
      this.classes.byteLength +
      this.agreed.byteLength +
      this.firstChild.byteLength +
      this.nextSibling.byteLength
    );
  }

  dispose(): void {}

  private grow(): void {
    const size = this.tokens.length * 2;
    const grown = <T extends Int32Array | Uint8Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.tokens = grown(this.tokens, size);
    this.parents = grown(this.parents, size);
    this.depths = grown(this.depths, size);
    this.sources = grown(this.sources, size);
    this.classes = grown(this.classes, size);
    this.agreed = grown(this.agreed, size);
    this.nextSibling = grown(this.nextSibling, size);
    this.firstChild = grown(this.firstChild, size + 1);
  }
}
