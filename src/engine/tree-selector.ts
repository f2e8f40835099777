/**
 * Sizes each step's draft tree from expected acceptance (the idea of OPT-Tree, DySpec, Sequoia):
 * the drafter proposes a generous candidate tree, every candidate node gets an estimate of the
 * probability that its whole path is accepted, and the step verifies the node set that maximises
 *
 *     (1 + E[accepted tokens]) / cost(1 + nodes)
 *
 * — expected tokens per millisecond, with the verify cost measured on this model and machine.
 * E[accepted] of a node set is the sum of its nodes' path probabilities. A node's path probability
 * is its parent's times the node's own conditional acceptance rate, so it never exceeds the
 * parent's: the best set of n nodes is then simply the n most probable (a parent is at least as
 * probable as its child and comes first on ties), which is connected, and the best n is found by
 * one scan of the prefix sums.
 *
 * The conditional rates are learned online per (draft source, depth, sibling rank): each verify
 * tells, for every node whose parent was accepted, whether the node was accepted too. Counts are
 * discounted every step so the estimates follow a drafter that warms up or a text that changes,
 * and a rate that has not been seen for a while drifts back to its prior, which makes the selector
 * try it again. The cost side is kept honest the same way: a verify size one grid point above the
 * chosen one that was never verified, or not for EXPLORE_EVERY steps, is verified once (when the
 * candidate is that large), and again while its real timings undercut the load-time ones, so a
 * cost measured too high at load — a busy machine — is corrected by real steps instead of keeping
 * trees small for ever. Deterministic: same inputs, same trees.
 */
import { CONFIDENCE_CLASSES, classRate, type DraftTree } from "../drafters/types.ts";
import type { VerifyCostModel } from "./cost-model.ts";

const MAX_DEPTH = 16;
const MAX_RANK = 4;
/** Keys per (source, confidence class): depths × ranks. */
const BLOCK = (MAX_DEPTH + 1) * MAX_RANK;
/** Weight of the prior, in observations. */
const PRIOR_WEIGHT = 2;
/** Per-step discount of every count: ~70 steps of memory. */
const DISCOUNT = 0.986;
/** Steps after which a verify size above the chosen one is tried again (once). */
export const EXPLORE_EVERY = 32;
/** The step from which a size never verified yet is tried (the first steps learn acceptance). */
const FIRST_CHECK = 3;

/**
 * Before anything is seen at depth 1: without a confidence class, a first guess is right about
 * half the time and later ranks less often; with one, the rank-0 guess is right as often as its
 * class says and the other ranks share part of what it leaves. Deeper, a key's prior is the rate
 * of the same source, class and rank one level up, so a chain whose first levels are always
 * accepted (a copied span, a right prediction) is trusted deeper at once instead of one level
 * per step.
 */
function priorRate(rank: number, confidence: number): number {
  if (confidence === 0) return 0.5 / (1 + rank);
  const first = classRate(confidence);
  return rank === 0 ? first : ((1 - first) * 0.4) / rank;
}

export interface Selection {
  /** The tree to verify (the candidate itself when every node is kept). */
  tree: DraftTree;
  /** Expected accepted draft tokens of `tree`, by the current estimates. */
  expectedAccepted: number;
}

export class TreeSelector {
  private readonly hits: Float64Array;
  private readonly trials: Float64Array;
  /** Rates derived from the counts (rateOf), computed when asked for. */
  private readonly rates: Float64Array;
  /** `rates[key]` is current when `rateStamp[key]` equals `stamp`, which every observation moves on. */
  private readonly rateStamp: Uint32Array;
  private stamp = 1;
  /**
   * Counts are stored times `scale`, which grows by 1 / DISCOUNT a step: discounting every count
   * is then one multiplication, not one per key (10 classes × 5 sources × 17 depths × 4 ranks),
   * and a step computes the rates of the keys its tree uses, not of all.
   */
  private scale = 1;
  private readonly sizes = new Map<number, number>();
  /** Scratch, grown as needed. */
  private prob = new Float64Array(128);
  private keys = new Int32Array(128);
  private order = new Int32Array(128);
  /** Children seen so far per parent (index parent + 1), while estimate() ranks siblings. */
  private childCount = new Int32Array(129);
  /** The candidate's nodes kept (select), and their places in the subtree. */
  private keep = new Uint8Array(128);
  /** select(): the cost of feeding each size, by size (index 1 up to the candidate's size + 1). */
  private costs = new Float64Array(130);
  private index = new Int32Array(128);
  /** observe(): the nodes on the accepted path. */
  private onPath = new Uint8Array(128);
  /** The last selected tree and its nodes' keys (ranks as they were in the candidate). */
  private lastTree: DraftTree | undefined;
  private lastKeys = new Int32Array(128);
  private step = 0;
  /** The step at which a forward of each cost-grid size (by fed tokens, rounded up) last ran. */
  private readonly lastAt = new Map<number, number>();

  private readonly exploreEvery: number;

  constructor(
    private readonly cost: VerifyCostModel,
    /** How many draft sources the drafter can name (`DraftTree.sources` values below this). */
    sources = 8,
    /** Steps between re-checks of the cost above the chosen size (Infinity: never). */
    opts: { exploreEvery?: number } = {},
  ) {
    this.exploreEvery = opts.exploreEvery ?? EXPLORE_EVERY;
    this.hits = new Float64Array(sources * CONFIDENCE_CLASSES * (MAX_DEPTH + 1) * MAX_RANK);
    this.trials = new Float64Array(this.hits.length);
    this.rates = new Float64Array(this.hits.length);
    this.rateStamp = new Uint32Array(this.hits.length);
  }

  /** The conditional acceptance estimate of one (source, depth, rank[, confidence class]) key. */
  rate(source: number, depth: number, rank: number, confidence = 0): number {
    return this.rateOf(this.key(source, depth, rank, confidence));
  }

  /** Path-acceptance estimates of every node of `tree` (for tests and for callers that draw). */
  pathProbabilities(tree: DraftTree): Float64Array {
    this.estimate(tree);
    return this.prob.slice(0, tree.size);
  }

  /** The subtree of `candidate` that maximises expected tokens per millisecond. */
  select(candidate: DraftTree): Selection {
    const n = candidate.size;
    this.step++;
    if (n === 0) return this.chosen({ tree: candidate, expectedAccepted: 0 });
    this.estimate(candidate);
    const p = this.prob;
    const order = this.order;
    // Nodes by path probability, most probable first, ties by index: an insertion sort, which
    // for the tens of nodes of a candidate beats a comparator sort's calls (this runs every step,
    // right after a forward has swept the caches).
    for (let i = 0; i < n; i++) {
      const pi = p[i]!;
      let j = i;
      while (j > 0 && p[order[j - 1]!]! < pi) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    const costs = this.costs;
    this.cost.costsInto(costs, n + 1);
    let best = 0;
    let bestScore = 1 / costs[1]!;
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += p[order[k - 1]!]!;
      const score = (1 + sum) / costs[1 + k]!;
      if (score > bestScore) {
        bestScore = score;
        best = k;
      }
    }
    // The cost of the grid size above the chosen one has not been checked for a while: check it.
    const above = gridAbove(this.cost.points, best + 1);
    if (above !== undefined && above - 1 <= n && this.due(above)) best = above - 1;
    let expected = 0;
    for (let k = 0; k < best; k++) expected += p[order[k]!]!;
    if (best === n) return this.chosen({ tree: candidate, expectedAccepted: expected });
    const keep = this.keep;
    keep.fill(0, 0, n);
    for (let k = 0; k < best; k++) keep[order[k]!] = 1;
    return this.chosen({ tree: subtree(candidate, keep, this.index), expectedAccepted: expected }, keep);
  }

  /**
   * What verification of `tree` found: `path`, the accepted nodes root to leaf. Every node whose
   * parent was accepted (or is the root) is one trial of its key; the nodes on the path are hits.
   */
  observe(tree: DraftTree, path: readonly number[]): void {
    this.stamp++;
    this.scale /= DISCOUNT;
    if (this.scale > 1e150) {
      for (let i = 0; i < this.hits.length; i++) {
        this.hits[i]! /= this.scale;
        this.trials[i]! /= this.scale;
      }
      this.scale = 1;
    }
    if (tree.size === 0) return;
    let keys = this.lastKeys;
    if (tree !== this.lastTree) {
      this.estimate(tree);
      keys = this.keys;
    }
    if (this.onPath.length < tree.size) this.onPath = new Uint8Array(2 * tree.size);
    const onPath = this.onPath;
    onPath.fill(0, 0, tree.size);
    for (const node of path) onPath[node] = 1;
    for (let i = 0; i < tree.size; i++) {
      const parent = tree.parents[i]!;
      if (parent >= 0 && !onPath[parent]) continue;
      const key = keys[i]!;
      this.trials[key]! += this.scale;
      if (onPath[i]) this.hits[key]! += this.scale;
    }
  }

  /** Steps per verified tree size (0 = a plain step), bucketed by powers of two, for stats. */
  histogram(): Record<string, number> {
    return Object.fromEntries([...this.sizes.entries()].sort((a, b) => a[0] - b[0]).map(([s, c]) => [String(s), c]));
  }

  private chosen(s: Selection, keep?: Uint8Array): Selection {
    this.lastTree = s.tree;
    const size = s.tree.size;
    if (this.lastKeys.length < size) this.lastKeys = new Int32Array(2 * size);
    const kept = this.lastKeys;
    if (keep) {
      for (let i = 0, j = 0; j < size; i++) if (keep[i] === 1) kept[j++] = this.keys[i]!;
    } else for (let i = 0; i < size; i++) kept[i] = this.keys[i]!;
    const grid = gridAbove(this.cost.points, size);
    if (grid !== undefined) this.lastAt.set(grid, this.step);
    const bucket = size === 0 ? 0 : 2 ** Math.ceil(Math.log2(size));
    this.sizes.set(bucket, (this.sizes.get(bucket) ?? 0) + 1);
    return s;
  }

  /**
   * Whether the cost of feeding `tokens` should be checked by a real step now: never checked by
   * this selector (soon: a request is short), not for `exploreEvery` steps, or its real timings
   * undercut the curve.
   */
  private due(tokens: number): boolean {
    if (this.exploreEvery === Infinity) return false;
    const last = this.lastAt.get(tokens);
    if (last === undefined) return this.step >= FIRST_CHECK;
    return this.step - last >= this.exploreEvery || this.cost.doubtful(tokens);
  }

  private key(source: number, depth: number, rank: number, confidence: number): number {
    const s = Math.min(Math.max(source, 0), this.hits.length / (CONFIDENCE_CLASSES * (MAX_DEPTH + 1) * MAX_RANK) - 1);
    const c = Math.min(Math.max(confidence, 0), CONFIDENCE_CLASSES - 1);
    return ((s * CONFIDENCE_CLASSES + c) * (MAX_DEPTH + 1) + Math.min(depth, MAX_DEPTH)) * MAX_RANK + Math.min(rank, MAX_RANK - 1);
  }

  /**
   * A key's rate: its counts with the prior weight on the rate one level up (depth 1: priorRate),
   * computed when first asked for after an observation.
   */
  private rateOf(key: number): number {
    if (this.rateStamp[key] === this.stamp) return this.rates[key]!;
    const depth = Math.floor(key / MAX_RANK) % (MAX_DEPTH + 1);
    const prior = depth <= 1 ? priorRate(key % MAX_RANK, Math.floor(key / BLOCK) % CONFIDENCE_CLASSES) : this.rateOf(key - MAX_RANK);
    const rate = (this.hits[key]! / this.scale + PRIOR_WEIGHT * prior) / (this.trials[key]! / this.scale + PRIOR_WEIGHT);
    this.rates[key] = rate;
    this.rateStamp[key] = this.stamp;
    return rate;
  }

  /** Fills `keys` and `prob` for the nodes of `tree` (parents come before their children). */
  private estimate(tree: DraftTree): void {
    const n = tree.size;
    if (this.prob.length < n) {
      this.prob = new Float64Array(n * 2);
      this.keys = new Int32Array(n * 2);
      this.order = new Int32Array(n * 2);
      this.childCount = new Int32Array(n * 2 + 1);
      this.keep = new Uint8Array(n * 2);
      this.index = new Int32Array(n * 2);
      this.costs = new Float64Array(n * 2 + 2);
    }
    // Sibling rank: the order in which the drafter put a parent's children (its preference).
    const children = this.childCount;
    children.fill(0, 0, n + 1);
    for (let i = 0; i < n; i++) {
      const parent = tree.parents[i]!;
      const rank = children[parent + 1]!++;
      const key = this.key(tree.sources?.[i] ?? 0, tree.depths[i]!, rank, tree.classes?.[i] ?? 0);
      this.keys[i] = key;
      this.prob[i] = (parent < 0 ? 1 : this.prob[parent]!) * this.rateOf(key);
    }
  }
}

/** The first grid size of `points` that feeds more than `tokens` tokens, if any. */
function gridAbove(points: readonly { tokens: number }[], tokens: number): number | undefined {
  for (const q of points) if (q.tokens > tokens) return q.tokens;
  return undefined;
}

/**
 * The nodes of `tree` marked in `keep` (a set closed under parents), in the same order. `index`:
 * scratch of at least `tree.size` (the selector passes its own: a step allocates only the result).
 */
export function subtree(tree: DraftTree, keep: Uint8Array, index = new Int32Array(tree.size)): DraftTree {
  let n = 0;
  for (let i = 0; i < tree.size; i++) index[i] = keep[i] ? n++ : -1;
  const out: DraftTree = { size: n, tokens: new Int32Array(n), parents: new Int32Array(n), depths: new Int32Array(n) };
  if (tree.sources) out.sources = new Uint8Array(n);
  if (tree.classes) out.classes = new Uint8Array(n);
  if (tree.agreed) out.agreed = new Uint8Array(n);
  for (let i = 0; i < tree.size; i++) {
    const j = index[i]!;
    if (j < 0) continue;
    const parent = tree.parents[i]!;
    if (parent >= 0 && index[parent]! < 0) throw new Error(`subtree: node ${i} is kept without its parent ${parent}`);
    out.tokens[j] = tree.tokens[i]!;
    out.parents[j] = parent < 0 ? -1 : index[parent]!;
    out.depths[j] = tree.depths[i]!;
    if (out.sources) out.sources[j] = tree.sources![i]!;
    if (out.classes) out.classes[j] = tree.classes![i]!;
    if (out.agreed) out.agreed[j] = tree.agreed![i]!;
  }
  return out;
}
