/**
 * The hot data structures of the drafters, as kernels with two interchangeable implementations:
 * TypeScript (`kernels/ts/`) and Rust→WASM (`kernels/wasm/`, crate in `wasm/`). Drafters are thin
 * classes over these; a differential test drives both sets with the same streams and requires the
 * same trees. The boundary is chosen so one drafter step is a handful of calls with typed arrays:
 * observe = append tokens + update table rows, propose = draft into one tree + finish.
 *
 * Kernels trust their input: drafters validate token ids and sizes before calling them.
 */
import type { DraftTree } from "../types.ts";

export type KernelSetName = "ts" | "wasm";

/** A draft tree under construction; nodes dedupe by (parent, token). */
export interface TreeKernel {
  /** Empties the tree; at most `capacity` nodes until the next clear. */
  clear(capacity: number): void;
  /** The node for `token` under `parent` (-1 = root): existing (marked agreed when `source` is not its own), new, or -1 when full. */
  add(parent: number, token: number, source: number): number;
  readonly size: number;
  /** The tree in breadth-first order, copied out (it stays valid after the next clear). */
  finish(): DraftTree;
  memoryBytes(): number;
  dispose(): void;
}

/** A suffix automaton's arrays, as saved and loaded. Edge order matters (it fixes the lists). */
export interface AutomatonArrays {
  text: Int32Array;
  len: Int32Array;
  link: Int32Array;
  firstEnd: Int32Array;
  edgeFrom: Int32Array;
  edgeToken: Int32Array;
  edgeTarget: Int32Array;
  last: number;
}

/**
 * Online suffix automaton with a cursor: the state and length of the longest suffix of the fed
 * tokens that the automaton contains. Memory cap: at `maxTokens` tokens of text, `append` and
 * `extend` rebuild the automaton from the most recent half of the text (amortised O(1) per token,
 * positions then count from the start of that window).
 */
export interface AutomatonKernel {
  /** Empty text, cursor at the root. */
  reset(): void;
  /** Dynamic use: per token, move the cursor against the text so far, then add the token. */
  append(tokens: ArrayLike<number>): void;
  /** Static use: add tokens to the text without moving the cursor. -1 separates documents. */
  extend(tokens: ArrayLike<number>): void;
  /** Static use: move the cursor over tokens without adding them. */
  advance(tokens: ArrayLike<number>): void;
  setCursor(state: number, length: number): void;
  readonly cursorState: number;
  readonly cursorLength: number;
  /** End index (in the text) of the first occurrence of the cursor's match; -1 when length 0. */
  readonly matchEnd: number;
  /** Tokens of text held. */
  readonly length: number;
  readonly stateCount: number;
  readonly edgeCount: number;
  /**
   * Continuations of the cursor's match as chains under the root: branch b follows the b-th
   * distinct first occurrence met while shortening the match along suffix links (longest
   * first), has at most max(maxLen >> b, 1) tokens and stops at a separator.
   */
  draftInto(tree: TreeKernel, maxLen: number, maxBranches: number, minMatch: number, source: number): void;
  exportArrays(): AutomatonArrays;
  /** Replaces the automaton (arrays already validated); the cursor goes to the root. */
  importArrays(a: AutomatonArrays): void;
  memoryBytes(): number;
  dispose(): void;
}

/**
 * Prompt-lookup index over prompt + output: for n in [minN, maxN], the first occurrence of every
 * n-gram. Same memory-cap policy as the automaton (rebuild from the most recent half).
 */
export interface NgramIndexKernel {
  reset(): void;
  append(tokens: ArrayLike<number>): void;
  readonly length: number;
  /** Longest n in [minN, maxN] whose suffix n-gram occurred before the last token; 0 if none. */
  matchLength(): number;
  /** End index of that earlier (first) occurrence; -1 if none. */
  matchEnd(): number;
  /** Branch b continues the b-th distinct first occurrence (longest n first), max(maxLen >> b, 1) long. */
  draftInto(tree: TreeKernel, maxLen: number, maxBranches: number, source: number): void;
  memoryBytes(): number;
  dispose(): void;
}

/** Token Recycling's vocab × k table of next-token candidates plus its tree template. */
export interface RecyclingTableKernel {
  readonly vocabSize: number;
  readonly k: number;
  /** Row tokens[i] := topK[i*kIn .. i*kIn+k) (a later row for the same token wins; missing columns -1). */
  update(tokens: ArrayLike<number>, topK: Int32Array, kIn: number): void;
  /** Template in breadth-first order: parents[i] < i (-1 = root), ranks[i] < k. */
  setTemplate(parents: Int32Array, ranks: Int32Array): void;
  /** Expands the template from `root` into `tree` (empty rows, missing parents, no room: node skipped). */
  expandInto(tree: TreeKernel, root: number, source: number): void;
  get(row: number, column: number): number;
  /** All rows as ids, -1 = none (vocabSize * k). */
  exportRows(): Int32Array;
  importRows(ids: Int32Array): void;
  clear(): void;
  memoryBytes(): number;
  dispose(): void;
}

export interface KernelSet {
  readonly name: KernelSetName;
  tree(): TreeKernel;
  automaton(maxTokens: number): AutomatonKernel;
  ngramIndex(minN: number, maxN: number, maxTokens: number): NgramIndexKernel;
  recyclingTable(vocabSize: number, k: number): RecyclingTableKernel;
}

/** Hash of a (state, token) transition; the Rust twin is `edge_hash` in wasm/src/sam.rs. */
export function edgeHash(state: number, token: number): number {
  let h = (Math.imul(state, 0x9e3779b1) ^ Math.imul(token + 1, 0x85ebca77)) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return h >>> 0;
}

/** A vocabulary smaller than this is stored as u16 in the table (0xFFFF = none); else i32. Same rule in table.rs. */
export const NARROW_TABLE_VOCAB_LIMIT = 0xffff;
