/**
 * Online suffix automaton over a token stream, TypeScript twin of wasm/src/sam.rs (same arrays,
 * same hash, same edge order, so both export identical state and draft identical trees).
 * States: len, link, firstEnd (end index of the first occurrence: the continuation is read from
 * the text after it). Transitions: flat edge arrays with a per-state list (copied when a state is
 * cloned) and an open-addressing hash on (state, token) for O(1) lookup at any vocabulary size.
 */
import { EdgespecError } from "../../../errors.ts";
import { type AutomatonArrays, type AutomatonKernel, type TreeKernel, edgeHash } from "../types.ts";
import { ensureInt32, tsTree } from "./grow.ts";

const MIN_SLOTS = 16;

export class TsAutomaton implements AutomatonKernel {
  private readonly maxTokens: number;
  private text = new Int32Array(16);
  private n = 0;
  private len = new Int32Array(16);
  private link = new Int32Array(16);
  private firstEnd = new Int32Array(16);
  private edgeHead = new Int32Array(16);
  private states = 0;
  private edgeFrom = new Int32Array(16);
  private edgeToken = new Int32Array(16);
  private edgeTarget = new Int32Array(16);
  private edgeNext = new Int32Array(16);
  private edges = 0;
  private slots = new Int32Array(MIN_SLOTS).fill(-1);
  private last = 0;
  private curState = 0;
  private curLen = 0;

  constructor(maxTokens: number) {
    this.maxTokens = Math.max(2, maxTokens);
    this.reset();
  }

  get cursorState(): number {
    return this.curState;
  }
  get cursorLength(): number {
    return this.curLen;
  }
  get matchEnd(): number {
    return this.curLen === 0 ? -1 : this.firstEnd[this.curState]!;
  }
  get length(): number {
    return this.n;
  }
  get stateCount(): number {
    return this.states;
  }
  get edgeCount(): number {
    return this.edges;
  }

  reset(): void {
    this.n = 0;
    this.states = 0;
    this.edges = 0;
    this.slots.fill(-1);
    this.newState(0, -1, -1);
    this.last = 0;
    this.curState = 0;
    this.curLen = 0;
  }

  setCursor(state: number, length: number): void {
    this.curState = state;
    this.curLen = length;
  }

  append(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) {
      if (this.n >= this.maxTokens) this.rebuildFromRecentHalf();
      this.appendOne(tokens[i]!);
    }
  }

  extend(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) {
      if (this.n >= this.maxTokens) this.rebuildFromRecentHalf();
      this.extendOne(tokens[i]!);
    }
  }

  advance(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) this.advanceOne(tokens[i]!);
  }

  draftInto(into: TreeKernel, maxLen: number, maxBranches: number, minMatch: number, source: number): void {
    const tree = tsTree(into);
    if (maxLen <= 0 || maxBranches <= 0) return;
    const branches = Math.min(maxBranches, 16);
    const min = Math.max(minMatch, 1);
    const used: number[] = [];
    let s = this.curState;
    let l = this.curLen;
    while (s > 0 && l >= min && used.length < branches) {
      const e = this.firstEnd[s]!;
      const start = e + 1;
      if (start < this.n && !used.includes(e)) {
        const take = Math.min(Math.max(maxLen >> used.length, 1), this.n - start);
        tree.addChain(this.text, start, take, source);
        used.push(e);
      }
      s = this.link[s]!;
      l = this.len[s]!;
    }
  }

  exportArrays(): AutomatonArrays {
    return {
      text: this.text.slice(0, this.n),
      len: this.len.slice(0, this.states),
      link: this.link.slice(0, this.states),
      firstEnd: this.firstEnd.slice(0, this.states),
      edgeFrom: this.edgeFrom.slice(0, this.edges),
      edgeToken: this.edgeToken.slice(0, this.edges),
      edgeTarget: this.edgeTarget.slice(0, this.edges),
      last: this.last,
    };
  }

  importArrays(a: AutomatonArrays): void {
    this.text = Int32Array.from(a.text);
    this.n = a.text.length;
    this.len = Int32Array.from(a.len);
    this.link = Int32Array.from(a.link);
    this.firstEnd = Int32Array.from(a.firstEnd);
    this.states = a.len.length;
    this.edgeFrom = Int32Array.from(a.edgeFrom);
    this.edgeToken = Int32Array.from(a.edgeToken);
    this.edgeTarget = Int32Array.from(a.edgeTarget);
    this.edges = a.edgeFrom.length;
    this.edgeHead = new Int32Array(Math.max(16, this.states)).fill(-1);
    this.edgeNext = new Int32Array(Math.max(16, this.edges));
    let size = MIN_SLOTS;
    while (size < 2 * this.edges) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    for (let e = 0; e < this.edges; e++) {
      const from = this.edgeFrom[e]!;
      if (this.findEdge(from, this.edgeToken[e]!) >= 0) throw new EdgespecError("invalid_argument", "suffix automaton arrays hold a duplicate transition");
      this.edgeNext[e] = this.edgeHead[from]!;
      this.edgeHead[from] = e;
      this.insertSlot(e);
    }
    this.last = a.last;
    this.curState = 0;
    this.curLen = 0;
  }

  memoryBytes(): number {
    const arrays = [this.text, this.len, this.link, this.firstEnd, this.edgeHead, this.edgeFrom, this.edgeToken, this.edgeTarget, this.edgeNext, this.slots];
    return arrays.reduce((sum, a) => sum + a.byteLength, 0);
  }

  dispose(): void {}

  private newState(len: number, link: number, firstEnd: number): number {
    const s = this.states++;
    if (s >= this.len.length) {
      this.len = ensureInt32(this.len, s + 1);
      this.link = ensureInt32(this.link, s + 1);
      this.firstEnd = ensureInt32(this.firstEnd, s + 1);
      this.edgeHead = ensureInt32(this.edgeHead, s + 1);
    }
    this.len[s] = len;
    this.link[s] = link;
    this.firstEnd[s] = firstEnd;
    this.edgeHead[s] = -1;
    return s;
  }

  private findEdge(state: number, token: number): number {
    const mask = this.slots.length - 1;
    for (let i = edgeHash(state, token) & mask; ; i = (i + 1) & mask) {
      const e = this.slots[i]!;
      if (e < 0) return -1;
      if (this.edgeFrom[e] === state && this.edgeToken[e] === token) return e;
    }
  }

  private insertSlot(e: number): void {
    const mask = this.slots.length - 1;
    let i = edgeHash(this.edgeFrom[e]!, this.edgeToken[e]!) & mask;
    while (this.slots[i]! >= 0) i = (i + 1) & mask;
    this.slots[i] = e;
  }

  private addEdge(from: number, token: number, target: number): void {
    const e = this.edges++;
    if (e >= this.edgeFrom.length) {
      this.edgeFrom = ensureInt32(this.edgeFrom, e + 1);
      this.edgeToken = ensureInt32(this.edgeToken, e + 1);
      this.edgeTarget = ensureInt32(this.edgeTarget, e + 1);
      this.edgeNext = ensureInt32(this.edgeNext, e + 1);
    }
    this.edgeFrom[e] = from;
    this.edgeToken[e] = token;
    this.edgeTarget[e] = target;
    this.edgeNext[e] = this.edgeHead[from]!;
    this.edgeHead[from] = e;
    if ((e + 1) * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2).fill(-1);
      for (let old = 0; old < e; old++) this.insertSlot(old);
    }
    this.insertSlot(e);
  }

  private extendOne(token: number): void {
    const pos = this.n++;
    if (pos >= this.text.length) this.text = ensureInt32(this.text, pos + 1);
    this.text[pos] = token;
    const cur = this.newState(this.len[this.last]! + 1, -1, pos);
    let p = this.last;
    while (p >= 0 && this.findEdge(p, token) < 0) {
      this.addEdge(p, token, cur);
      p = this.link[p]!;
    }
    if (p < 0) {
      this.link[cur] = 0;
    } else {
      const q = this.edgeTarget[this.findEdge(p, token)]!;
      if (this.len[p]! + 1 === this.len[q]) {
        this.link[cur] = q;
      } else {
        const clone = this.newState(this.len[p]! + 1, this.link[q]!, this.firstEnd[q]!);
        for (let f = this.edgeHead[q]!; f >= 0; f = this.edgeNext[f]!) this.addEdge(clone, this.edgeToken[f]!, this.edgeTarget[f]!);
        while (p >= 0) {
          const e = this.findEdge(p, token);
          if (e < 0 || this.edgeTarget[e] !== q) break;
          this.edgeTarget[e] = clone;
          p = this.link[p]!;
        }
        this.link[q] = clone;
        this.link[cur] = clone;
      }
    }
    this.last = cur;
  }

  private advanceOne(token: number): void {
    let s = this.curState;
    let l = this.curLen;
    for (;;) {
      const e = this.findEdge(s, token);
      if (e >= 0) {
        s = this.edgeTarget[e]!;
        l++;
        break;
      }
      if (s === 0) {
        l = 0;
        break;
      }
      s = this.link[s]!;
      l = this.len[s]!;
    }
    this.curState = s;
    this.curLen = l;
  }

  private appendOne(token: number): void {
    this.advanceOne(token);
    this.extendOne(token);
    // A clone may have taken over the cursor's (shorter) strings: follow it.
    const s = this.curState;
    if (s > 0) {
      const up = this.link[s]!;
      if (up >= 0 && this.len[up]! >= this.curLen) this.curState = up;
    }
  }

  private rebuildFromRecentHalf(): void {
    const keep = Math.floor(this.maxTokens / 2);
    const window = this.text.slice(this.n - keep, this.n);
    this.reset();
    for (let i = 0; i < window.length; i++) this.appendOne(window[i]!);
  }
}
