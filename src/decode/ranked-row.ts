/**
 * A row's sampling weights in rank order (weight descending, ties by id: the same order on every
 * engine) without sorting the whole vocabulary for every token. Sampling walks the ranks from the
 * top and almost always stops within the few hundred tokens that carry the mass; sorting all
 * 16384 of a vocabulary with a comparator cost ~4 ms a token, as much as the forward itself.
 *
 * Weights at or above HEAD_CUT of the top one are sorted when the row is loaded; the rest (the
 * tail, at most vocab × HEAD_CUT of the mass) are ranked only as far as a rank is asked for (top-k
 * past the head, a draw landing in the tail): the largest remaining weights are selected in linear
 * time and sorted, at least doubling what is ranked each time. Everything ranked outweighs (or ties
 * by larger id) everything left, so the ranks are the full sort's.
 */

const HEAD_CUT = 2 ** -20;

export class RankedRow {
  private weight = new Float64Array(0);
  private order = new Int32Array(0);
  private tail = new Int32Array(0);
  /** Tail ids not ranked yet (any order; copied from the tail when first needed), and a scratch for selecting among their weights. */
  private rest = new Int32Array(0);
  private restCount = -1;
  private select = new Float64Array(0);
  private n = 0;
  private headCount = 0;
  private tailCount = 0;
  private sortedCount = 0;
  private readonly byRank = (a: number, b: number) => this.weight[b]! - this.weight[a]! || a - b;

  /** Weights exp((logit - max) / temperature) of `vocab` logits at `offset`; the top weight is 1. */
  load(logits: Float32Array, offset: number, vocab: number, temperature: number): void {
    if (this.weight.length < vocab) {
      this.weight = new Float64Array(vocab);
      this.order = new Int32Array(vocab);
      this.tail = new Int32Array(vocab);
      this.rest = new Int32Array(vocab);
      this.select = new Float64Array(vocab);
    }
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]!);
    let h = 0;
    let t = 0;
    for (let i = 0; i < vocab; i++) {
      const w = Math.exp((logits[offset + i]! - max) / temperature);
      this.weight[i] = w;
      if (w >= HEAD_CUT) this.order[h++] = i;
      else this.tail[t++] = i;
    }
    this.order.subarray(0, h).sort(this.byRank);
    this.n = vocab;
    this.headCount = this.sortedCount = h;
    this.tailCount = t;
    this.restCount = -1; // most draws never reach the tail: no copy per token
  }

  get vocab(): number {
    return this.n;
  }

  /** The id at `rank` (0 = most likely). */
  at(rank: number): number {
    if (!(rank >= 0 && rank < this.n)) throw new RangeError(`rank ${rank} outside a row of ${this.n}`);
    while (rank >= this.sortedCount) this.rankMore(rank);
    return this.order[rank]!;
  }

  /** The weight of the id at `rank`. */
  weightAt(rank: number): number {
    return this.weight[this.at(rank)]!;
  }

  /**
   * The weights of ranks [0, size) summed in an order fixed by the row and `size` alone: the head
   * by rank, then the tail by id when all of it is included (no sort needed), else by rank.
   */
  sumFirst(size: number): number {
    let sum = 0;
    const head = Math.min(size, this.headCount);
    for (let r = 0; r < head; r++) sum += this.weight[this.order[r]!]!;
    if (size <= this.headCount) return sum;
    if (size - this.headCount === this.tailCount) {
      for (let i = 0; i < this.tailCount; i++) sum += this.weight[this.tail[i]!]!;
    } else {
      for (let r = this.headCount; r < size; r++) sum += this.weightAt(r);
    }
    return sum;
  }

  /** Ranks the largest remaining tail weights: enough for `rank`, and at least as many as are ranked already. */
  private rankMore(rank: number): void {
    if (this.restCount < 0) {
      this.rest.set(this.tail.subarray(0, this.tailCount));
      this.restCount = this.tailCount;
    }
    const want = Math.min(this.restCount, Math.max(rank + 1 - this.sortedCount, this.sortedCount - this.headCount, 64));
    let picked: Int32Array;
    if (want === this.restCount) {
      picked = this.rest.slice(0, this.restCount);
      this.restCount = 0;
    } else {
      // The want-th largest remaining weight; every weight >= it is ranked now (ties included).
      const w = this.select;
      for (let i = 0; i < this.restCount; i++) w[i] = this.weight[this.rest[i]!]!;
      const v = kthLargest(w, this.restCount, want - 1);
      let count = 0;
      for (let i = 0; i < this.restCount; i++) if (this.weight[this.rest[i]!]! >= v) count++;
      picked = new Int32Array(count);
      let p = 0;
      let keep = 0;
      for (let i = 0; i < this.restCount; i++) {
        const id = this.rest[i]!;
        if (this.weight[id]! >= v) picked[p++] = id;
        else this.rest[keep++] = id;
      }
      this.restCount = keep;
    }
    picked.sort(this.byRank);
    this.order.set(picked, this.sortedCount);
    this.sortedCount += picked.length;
  }
}

/** The value of rank k (0 = largest) among a[0, n), by quickselect with three-way partitions (a is reordered). */
function kthLargest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  for (;;) {
    if (lo >= hi) return a[lo]!;
    const pivot = median3(a[lo]!, a[(lo + hi) >> 1]!, a[hi]!);
    // [lo, gt): > pivot, [gt, i): == pivot, (lt, hi]: < pivot.
    let gt = lo;
    let i = lo;
    let lt = hi;
    while (i <= lt) {
      const x = a[i]!;
      if (x > pivot) {
        a[i] = a[gt]!;
        a[gt++] = x;
        i++;
      } else if (x < pivot) {
        a[i] = a[lt]!;
        a[lt--] = x;
      } else i++;
    }
    if (k < gt) hi = gt - 1;
    else if (k <= lt) return pivot;
    else lo = lt + 1;
  }
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}
