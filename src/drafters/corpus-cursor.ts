/**
 * One drafter's place in a `CorpusIndex`: the longest suffix of the text fed so far (up to
 * MAX_MATCH tokens) that occurs in the corpus, held as the range of suffix-array ranks that start
 * with it. A token narrows the range by two binary searches; when nothing continues the match, the
 * longest suffix that does occur is found again by a binary search over its length (occurrence is
 * monotone: a suffix occurs if a longer one does). O(log n) per token while a match goes on.
 *
 * Drafts follow the occurrences by frequency, as SuffixDecoding's trees do: the chain takes, at
 * each depth, the token most occurrences of the path so far continue with, and copies from the one
 * occurrence left once the path is unique. Further branches start with the next most frequent first
 * tokens. (The automaton drafted from the first occurrence only.)
 */
import type { TreeKernel } from "./kernels/types.ts";
import { END, type SuffixArray } from "./suffix-array.ts";

/** Longest match tracked: enough to rank the corpus against the other sources, and to pick continuations. */
export const MAX_MATCH = 64;
/** Distinct next tokens examined when ranking continuations (a short match on a common token has thousands). */
const MAX_RUNS = 256;

export class CorpusCursor {
  private lo = 0;
  private hi: number;
  private length = 0;
  /** The last tokens fed, most recent last (refilled from its second half when full). */
  private readonly recent = new Int32Array(4 * MAX_MATCH);
  private fed = 0;
  private readonly range = new Int32Array(2);
  private readonly runs = new Int32Array(2 * 16);

  constructor(
    private readonly index: SuffixArray,
    private readonly separator: number,
  ) {
    this.hi = index.length;
  }

  /** Length of the current match (0: none). */
  get matchLength(): number {
    return this.length;
  }

  /** Occurrences of the current match in the corpus. */
  get occurrences(): number {
    return this.length === 0 ? 0 : this.hi - this.lo;
  }

  reset(): void {
    this.lo = 0;
    this.hi = this.index.length;
    this.length = 0;
    this.fed = 0;
  }

  advance(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) this.step(tokens[i]!);
  }

  /**
   * Continuations of the match under the root: branch b starts with the b-th most frequent next
   * token and has at most max(maxLen >> b, 1) tokens; separators end them.
   */
  draftInto(tree: TreeKernel, maxLen: number, maxBranches: number, minMatch: number, source: number): void {
    if (this.length === 0 || this.length < minMatch) return;
    const found = this.topRuns(this.lo, this.hi, this.length, Math.min(maxBranches, 16));
    for (let b = 0; b < found; b++) {
      const start = this.runs[2 * b]!;
      const end = this.runs[2 * b + 1]!;
      const node = tree.add(-1, this.index.tokenAt(start, this.length), source);
      if (node < 0) return;
      this.follow(tree, node, start, end, this.length + 1, Math.max(maxLen >> b, 1) - 1, source);
    }
  }

  private step(token: number): void {
    if (this.fed === this.recent.length) {
      this.recent.copyWithin(0, this.fed - MAX_MATCH);
      this.fed = MAX_MATCH;
    }
    this.recent[this.fed++] = token;
    if (this.length < MAX_MATCH) {
      this.index.narrow(this.lo, this.hi, this.length, token, this.range);
      if (this.range[0]! < this.range[1]!) {
        this.lo = this.range[0]!;
        this.hi = this.range[1]!;
        this.length++;
        return;
      }
    }
    // Nothing continues the match: the longest suffix of the recent tokens that occurs.
    let best = 0;
    let bestLo = 0;
    let bestHi = this.index.length;
    let low = 1;
    let high = Math.min(this.length, MAX_MATCH, this.fed);
    // At the cap a copied span usually goes on: try the longest first.
    if (high > 0 && this.find(high)) {
      [best, bestLo, bestHi, low] = [high, this.range[0]!, this.range[1]!, high + 1];
    } else high--;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.find(mid)) {
        best = mid;
        bestLo = this.range[0]!;
        bestHi = this.range[1]!;
        low = mid + 1;
      } else high = mid - 1;
    }
    this.length = best;
    this.lo = bestLo;
    this.hi = bestHi;
  }

  /** Whether the last `n` tokens fed occur; their ranks in `range`. */
  private find(n: number): boolean {
    let lo = 0;
    let hi = this.index.length;
    for (let k = 0; k < n && lo < hi; k++) {
      this.index.narrow(lo, hi, k, this.recent[this.fed - n + k]!, this.range);
      lo = this.range[0]!;
      hi = this.range[1]!;
    }
    this.range[0] = lo;
    this.range[1] = hi;
    return lo < hi;
  }

  /** Extends `parent` by up to `remaining` tokens: the most frequent continuation while ranks are sorted, then one occurrence's text. */
  private follow(tree: TreeKernel, parent: number, lo: number, hi: number, offset: number, remaining: number, source: number): void {
    const ix = this.index;
    while (remaining > 0 && hi - lo > 1 && offset < ix.depth) {
      if (this.topRuns(lo, hi, offset, 1) === 0) return;
      lo = this.runs[0]!;
      hi = this.runs[1]!;
      parent = tree.add(parent, ix.tokenAt(lo, offset), source);
      if (parent < 0) return;
      offset++;
      remaining--;
    }
    const text = ix.text;
    for (let p = ix.position(lo, offset); remaining > 0 && p < text.length && text[p] !== this.separator; p++, remaining--) {
      parent = tree.add(parent, text[p]!, source);
      if (parent < 0) return;
    }
  }

  /**
   * The `want` largest runs of ranks in [lo, hi) that agree on the token at `offset` (separators
   * and the text's end left out), largest first, ties in token order, as [start, end) pairs in
   * `runs`; returns how many. Stops early once no run left could enter the list.
   */
  private topRuns(lo: number, hi: number, offset: number, want: number): number {
    const ix = this.index;
    const runs = this.runs;
    let found = 0;
    let examined = 0;
    for (let start = lo; start < hi && examined < MAX_RUNS; examined++) {
      if (found === want && hi - start <= runs[2 * found - 1]! - runs[2 * found - 2]!) break;
      const token = ix.tokenAt(start, offset);
      const end = ix.lowerBound(start + 1, hi, offset, token + 1);
      const size = end - start;
      if (token !== END && token !== this.separator && (found < want || size > runs[2 * want - 1]! - runs[2 * want - 2]!)) {
        // Insert by size; an earlier run of equal size stays ahead.
        let at = found < want ? found++ : want - 1;
        for (; at > 0 && runs[2 * at - 1]! - runs[2 * at - 2]! < size; at--) {
          runs[2 * at] = runs[2 * at - 2]!;
          runs[2 * at + 1] = runs[2 * at - 1]!;
        }
        runs[2 * at] = start;
        runs[2 * at + 1] = end;
      }
      start = end;
    }
    return found;
  }
}
