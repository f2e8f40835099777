/**
 * A suffix array over token text, sorted to a fixed depth: the primitive under `CorpusIndex`.
 * 4 bytes per token beside the text itself (2 bytes per token for vocabularies up to 65535), where
 * a suffix automaton needs ~80: states, links, first ends and edge lists; plus 4 bytes per
 * vocabulary entry for the first-rank table.
 *
 * Suffixes are ordered by their first `depth` tokens only (prefix doubling stops there, ties keep
 * a fixed order), which is all a search needs when no pattern plus continuation it reads is longer:
 * fewer rounds to build, and a corpus full of repeated files costs no more than one without.
 * Past its end a suffix reads END, below every token and separator, as in the doubling's ranks.
 */

export type TokenText = Uint16Array | Int32Array;

/** What a suffix reads past the end of the text (below every token and separator). */
export const END = -2;

/**
 * Sorts the suffixes of `text` by their first `depth` tokens (prefix doubling with counting
 * sorts: O(n log depth) time, 16 bytes per token while building).
 */
export function buildSuffixArray(text: TokenText, depth: number): Int32Array {
  const n = text.length;
  const sa = new Int32Array(n);
  if (n === 0) return sa;
  // Dense keys in the order of the raw values (an Int32 text's -1 separator is the lowest value).
  const shift = text instanceof Int32Array ? 1 : 0;
  let maxKey = 0;
  for (let i = 0; i < n; i++) maxKey = Math.max(maxKey, text[i]! + shift);
  let rank = new Int32Array(n);
  let tmp = new Int32Array(n);
  const count = new Int32Array(Math.max(maxKey + 1, n) + 1);
  for (let i = 0; i < n; i++) count[text[i]! + shift]++;
  for (let k = 1; k <= maxKey; k++) count[k]! += count[k - 1]!;
  for (let i = n - 1; i >= 0; i--) sa[--count[text[i]! + shift]!] = i;
  let classes = 0;
  rank[sa[0]!] = 0;
  for (let j = 1; j < n; j++) {
    if (text[sa[j]!] !== text[sa[j - 1]!]) classes++;
    rank[sa[j]!] = classes;
  }
  classes++;
  for (let sorted = 1; classes < n && sorted < depth; sorted *= 2) {
    const k = sorted;
    // Order by the second half's class: suffixes with nothing k ahead (END) first, then by sa.
    let p = 0;
    for (let i = Math.max(0, n - k); i < n; i++) tmp[p++] = i;
    for (let j = 0; j < n; j++) if (sa[j]! >= k) tmp[p++] = sa[j]! - k;
    // Stable counting sort of that order by the first half's class.
    count.fill(0, 0, classes + 1);
    for (let i = 0; i < n; i++) count[rank[i]!]++;
    for (let c = 1; c < classes; c++) count[c]! += count[c - 1]!;
    for (let j = n - 1; j >= 0; j--) {
      const i = tmp[j]!;
      sa[--count[rank[i]!]!] = i;
    }
    let c = 0;
    tmp[sa[0]!] = 0;
    for (let j = 1; j < n; j++) {
      const a = sa[j - 1]!;
      const b = sa[j]!;
      if (rank[a] !== rank[b] || (a + k < n ? rank[a + k]! : -1) !== (b + k < n ? rank[b + k]! : -1)) c++;
      tmp[b] = c;
    }
    [rank, tmp] = [tmp, rank];
    classes = c + 1;
  }
  return sa;
}

/** Searches over a text and its suffix array (read-only; any number of cursors share one). */
export class SuffixArray {
  /**
   * `firstRanks[t]`: the first rank whose suffix starts with a token >= t, for t up to the
   * vocabulary size. A search from the whole array (a match starting over) then skips its first
   * two binary searches, the ones over the whole array: after a forward every probe of those is a
   * cache miss, and a cursor that loses its match starts over several times in one step.
   */
  private readonly firstRanks: Int32Array;

  constructor(
    readonly text: TokenText,
    readonly sa: Int32Array,
    /** Suffixes are sorted by this many leading tokens; searches read no deeper. */
    readonly depth: number,
    /** Tokens are below this (separators aside); 0: no table of first ranks, every search binary. */
    vocabSize = 0,
  ) {
    const first = new Int32Array(vocabSize > 0 ? vocabSize + 1 : 0);
    // Ranks are sorted by their first token (a separator by its raw value: -1 first, 0xffff last,
    // so first[vocabSize] ends the vocabulary's ranks either way).
    let j = text.length;
    for (let t = first.length - 1; t >= 0; t--) {
      while (j > 0 && text[sa[j - 1]!]! >= t) j--;
      first[t] = j;
    }
    this.firstRanks = first;
  }

  get length(): number {
    return this.text.length;
  }

  /** The token `offset` into the suffix at rank `j` (END past the text). */
  tokenAt(j: number, offset: number): number {
    const p = this.sa[j]! + offset;
    return p < this.text.length ? this.text[p]! : END;
  }

  /** First rank in [lo, hi) whose token at `offset` is >= `token`; the range shares `offset` leading tokens. */
  lowerBound(lo: number, hi: number, offset: number, token: number): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tokenAt(mid, offset) < token) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The ranks in [lo, hi) that read `token` at `offset`, as [start, end) in `out`; start === end
   * when none do. Requires offset < depth.
   */
  narrow(lo: number, hi: number, offset: number, token: number, out: Int32Array): void {
    if (offset === 0 && lo === 0 && hi === this.text.length && token >= 0 && token + 1 < this.firstRanks.length) {
      out[0] = this.firstRanks[token]!;
      out[1] = this.firstRanks[token + 1]!;
      return;
    }
    out[0] = this.lowerBound(lo, hi, offset, token);
    out[1] = this.lowerBound(out[0]!, hi, offset, token + 1);
  }

  /** Where the text a rank starts at plus `offset` lies, for copying what follows a match. */
  position(j: number, offset: number): number {
    return this.sa[j]! + offset;
  }
}
