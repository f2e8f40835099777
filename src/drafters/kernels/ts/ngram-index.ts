/**
 * Incremental prompt-lookup index, TypeScript twin of wasm/src/ngram.rs: for every n in
 * [minN, maxN] an open-addressing hash from an n-gram (compared token by token against the text,
 * so collisions are harmless) to the end index of its first occurrence. Per appended token one
 * insert per n, per query one lookup per n: the step cost does not grow with the context.
 * Answers what the pure `ngramPropose` (src/drafters/ngram.ts) answers.
 */
import type { NgramIndexKernel, TreeKernel } from "../types.ts";
import { ensureInt32, tsTree } from "./grow.ts";

const MIN_SLOTS = 16;

export class TsNgramIndex implements NgramIndexKernel {
  private readonly minN: number;
  private readonly maxN: number;
  private readonly maxTokens: number;
  private text = new Int32Array(16);
  private n = 0;
  /** tables[n - minN]: slot -> end index of the first occurrence, -1 = empty. */
  private readonly tables: Int32Array[] = [];
  private readonly counts: number[] = [];

  constructor(minN: number, maxN: number, maxTokens: number) {
    this.minN = Math.max(1, minN);
    this.maxN = Math.max(this.minN, maxN);
    this.maxTokens = Math.max(2, maxTokens);
    for (let w = 0; w <= this.maxN - this.minN; w++) {
      this.tables.push(new Int32Array(MIN_SLOTS).fill(-1));
      this.counts.push(0);
    }
  }

  get length(): number {
    return this.n;
  }

  reset(): void {
    this.n = 0;
    for (let w = 0; w < this.tables.length; w++) {
      this.tables[w]!.fill(-1);
      this.counts[w] = 0;
    }
  }

  append(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) {
      if (this.n >= this.maxTokens) {
        const window = this.text.slice(this.n - Math.floor(this.maxTokens / 2), this.n);
        this.reset();
        for (let j = 0; j < window.length; j++) this.appendOne(window[j]!);
      }
      this.appendOne(tokens[i]!);
    }
  }

  matchLength(): number {
    for (let n = this.maxN; n >= this.minN; n--) if (this.earlier(n) >= 0) return n;
    return 0;
  }

  matchEnd(): number {
    for (let n = this.maxN; n >= this.minN; n--) {
      const e = this.earlier(n);
      if (e >= 0) return e;
    }
    return -1;
  }

  draftInto(into: TreeKernel, maxLen: number, maxBranches: number, source: number): void {
    const tree = tsTree(into);
    if (maxLen <= 0 || maxBranches <= 0) return;
    const branches = Math.min(maxBranches, 16);
    const last = this.n - 1;
    const used: number[] = [];
    for (let n = this.maxN; n >= this.minN && used.length < branches; n--) {
      const e = this.earlier(n);
      if (e < 0 || used.includes(e)) continue;
      const take = Math.min(Math.max(maxLen >> used.length, 1), last - e);
      tree.addChain(this.text, e + 1, take, source);
      used.push(e);
    }
  }

  memoryBytes(): number {
    return this.tables.reduce((sum, t) => sum + t.byteLength, this.text.byteLength);
  }

  dispose(): void {}

  private appendOne(token: number): void {
    const end = this.n++;
    if (end >= this.text.length) this.text = ensureInt32(this.text, end + 1);
    this.text[end] = token;
    const top = Math.min(this.maxN, end + 1);
    for (let n = this.minN; n <= top; n++) this.insertFirst(end, n);
  }

  private gramHash(end: number, n: number): number {
    let h = 0x811c9dc5;
    for (let j = end + 1 - n; j <= end; j++) h = Math.imul(h ^ this.text[j]!, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  }

  private same(a: number, b: number, n: number): boolean {
    for (let j = 0; j < n; j++) if (this.text[a - j] !== this.text[b - j]) return false;
    return true;
  }

  /** Slot of the n-gram ending at `end`: its entry, or the empty slot where it would go. */
  private probe(end: number, n: number): number {
    const table = this.tables[n - this.minN]!;
    const mask = table.length - 1;
    for (let i = this.gramHash(end, n) & mask; ; i = (i + 1) & mask) {
      const s = table[i]!;
      if (s < 0 || this.same(s, end, n)) return i;
    }
  }

  private insertFirst(end: number, n: number): void {
    const w = n - this.minN;
    const i = this.probe(end, n);
    if (this.tables[w]![i]! >= 0) return; // seen before: keep the first occurrence
    this.tables[w]![i] = end;
    if (++this.counts[w]! * 2 > this.tables[w]!.length) {
      const old = this.tables[w]!;
      this.tables[w] = new Int32Array(old.length * 2).fill(-1);
      for (const e of old) if (e >= 0) this.tables[w]![this.probe(e, n)] = e;
    }
  }

  /** First occurrence of the length-n suffix if it ends before the last token, else -1. */
  private earlier(n: number): number {
    if (this.n < n + 1) return -1;
    const e = this.tables[n - this.minN]![this.probe(this.n - 1, n)]!;
    return e >= 0 && e < this.n - 1 ? e : -1;
  }
}
