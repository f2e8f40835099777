/**
 * How long one verification forward takes as a function of the tokens it feeds, cost(S), measured
 * on the loaded model and backend. On a big GPU cost(81) ≈ cost(1); on a 2-core CPU it is many
 * times larger — the whole reason a tree's size must be chosen per machine.
 *
 * A shared, noisy machine gives single timings that lie (a cost(1) > cost(4) reading was seen), so
 * the curve is never one sample: each grid point keeps the timings taken when it was first
 * measured (on warm code: warmUp), if it was, and a window of recent real steps (which also follow
 * the cost up as the context grows; none older than MAX_AGE steps); its value is the median of the
 * real steps once there have been MIN_ONLINE of them, else of everything it has. A grid point with
 * no timing (yet, or any more) is filled from those that have one (fill). The medians are then
 * fitted non-decreasing in S (pool adjacent violators), since feeding more tokens never costs less.
 *
 * Two ways to start: `measure` times the grid first (a second or two on WASM: what a server pays
 * once as it starts), `learned` times nothing and starts from PRIOR_SLOPE's shape, so the real
 * steps are all its timings (what a one-shot run can afford).
 */
import { Rng } from "../decode/rng.ts";
import { EdgespecError } from "../errors.ts";
import type { LanguageModel, SequenceCache } from "../model/causal-lm.ts";
import { fillInto, interpolate, isotonicInto, median, medianIn, onSegment } from "./curve-fit.ts";

export interface CostPoint {
  tokens: number;
  ms: number;
}

/**
 * The feed sizes timed at load (and the grid online timings are kept on). Every size up to 8, where
 * most steps are sized: the cost is not linear between powers of two (onnxruntime's WASM SGEMM
 * kernel takes rows one or two at a time, and each pass over a large weight matrix costs), and
 * trees sized on a line through 2, 4 and 8 took sizes that cost more than the line said.
 * Modeled on curves timed with every size (hybrid, 2026-12-07), sized on this grid rather than
 * on 1, 2, 4, 8: edgespec-small 1.98x -> 2.00x (24 prompts), edgespec-tiny 2.36x -> 2.40x (62);
 * on a curve learned from the steps (one-shot, fresh drafters) tiny 2.04x -> 2.06x, small
 * 2.01x -> 1.99x (more points to learn, each from fewer steps).
 */
export const COST_GRID: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 48, 64, 96];
/**
 * The shape a learned curve starts from, cost(S) ∝ 1 + PRIOR_SLOPE·(S − 1), and scales from a timed
 * size to larger ones it has not timed. Flatter than the curves measured here (warm WASM on this
 * 2-core machine: 0.13 on edgespec-tiny, 0.20 on edgespec-small, from cost(96)/cost(1)) on
 * purpose: a size that looks cheaper than it is gets chosen, timed and corrected by that step; one
 * that looks dearer would never be chosen to show otherwise.
 */
export const PRIOR_SLOPE = 0.1;
/** Real-step timings kept per grid point: the median of this many survives a few outliers either way. */
const WINDOW = 9;
/**
 * Real-step timings older than this many steps (of any size) are dropped. The first steps of a
 * process run on WebAssembly that is still warming up (see warmUp), up to 3x slower: a size timed
 * only then would look dear for ever, since a size that looks dear is not chosen again to show
 * otherwise (seen: edgespec-small's cost(4) kept at 16 ms, twice its warm cost, for a whole
 * one-shot run, which then drafted at most one token in most steps). Dropped, it is filled from
 * sizes timed since, or tried again.
 */
export const MAX_AGE = 64;
const NO_SAMPLES: readonly number[] = [];
/** Real-step timings from which a grid point no longer uses its load-time timings. */
const MIN_ONLINE = 3;
/**
 * Warm-up before the timings (see warmUp): blocks of forwards until the fastest block of the last
 * WARM_QUIET_MS (at least WARM_STABLE blocks) is no faster than WARM_GAIN of the fastest before
 * them, or WARM_MAX_MS have passed. A window, not block to block: tiering speeds a block up by a
 * few percent at a time, which no per-block margin sees.
 */
const WARM_BLOCK: readonly number[] = [1, 4, 16];
const WARM_STABLE = 3;
const WARM_QUIET_MS = 300;
const WARM_GAIN = 0.9;
const WARM_MAX_MS = 2000;

/**
 * What a verification step reads back, which its cost includes: each row's argmax and top-k ids
 * (greedy on a model with the in-graph heads: `LanguageModel.forwardTop`) or its full logits
 * (sampling, logprobs, penalties). On edgespec-small (WASM, 300 cached positions) the logits
 * cost 0.2-0.4 ms a step more than the ids (1 token: 3.70 against 3.32 ms; 2: 4.32 against
 * 3.93): a curve timed on one and used for the other misjudges what a drafted node costs against
 * a plain step.
 */
export type StepReadBack = "ids" | "logits";

/** The read-back a greedy step on `lm` makes (speculative.ts decides per request; this is its greedy case). */
export function greedyReadBack(lm: LanguageModel): StepReadBack {
  return lm.forwardTop ? "ids" : "logits";
}

/**
 * A forward of `fed` at `positions` that reads back what `readBack` says. Ids come with the top-k
 * block, as for a drafter that learns the model's candidates (the hybrid, Token Recycling); a
 * step of one that does not (sam, ngram) reads the argmax alone, which measured the same
 * (edgespec-small, 1 token: 3.32 ms with the top-k, 3.36 without).
 */
function stepForward(lm: LanguageModel, readBack: StepReadBack): (fed: number[], positions: number[], cache: SequenceCache) => Promise<unknown> {
  if (readBack === "ids") {
    if (!lm.forwardTop) throw new EdgespecError("invalid_argument", "this model reads back no ids (it has no in-graph heads): time its curve on logits");
    return (fed, positions, cache) => lm.forwardTop!(fed, positions, cache, true);
  }
  return (fed, positions, cache) => lm.forward(fed, positions, cache);
}

/** What measure needs of a clock (performance by default; tests pass their own). */
export interface Clock {
  now(): number;
}

/** How VerifyCostModel.measure times a curve. */
export interface MeasureOptions {
  /** The feed sizes (default COST_GRID). */
  sizes?: readonly number[];
  /** Cached tokens before each timed forward (default 96). */
  past?: number;
  /** Rounds over the sizes (default 5). */
  repeats?: number;
  clock?: Clock;
  /** What the timed forwards read back (default: a greedy step's, greedyReadBack). */
  readBack?: StepReadBack;
}

/**
 * Forwards until their timings stop falling. WebAssembly is compiled in tiers: until the
 * optimizing tier has replaced the baseline code, a forward runs 2-3x slower (measured on Bun,
 * 1-token forwards after load: edgespec-tiny 6.6 -> 2.0 ms over the first ~0.5 s, edgespec-small
 * 11 -> 5 ms over ~1.2 s). A curve timed in that window was 2.4x too high at 1 token and 3.2x at 8,
 * out of shape too; trees sized on it verified 8% fewer tokens per ms (bench/modeled.ts). Code
 * that is warm at once (native, or a model already run) costs the quiet window: 300 ms.
 */
async function warmUp(lm: LanguageModel, forward: ReturnType<typeof stepForward>, cache: SequenceCache, past: number, token: () => number, clock: Clock): Promise<void> {
  const block = WARM_BLOCK.filter((s) => past + s <= lm.spec.contextLength);
  const start = clock.now();
  const ends: number[] = []; // when each block ended
  const took: number[] = []; // and how long it took
  for (;;) {
    const t0 = clock.now();
    for (const size of block) {
      const fed = Array.from({ length: size }, token);
      await forward(fed, fed.map((_, i) => past + i), cache);
      cache.truncate(past);
    }
    const t1 = clock.now();
    ends.push(t1);
    took.push(t1 - t0);
    if (t1 - start >= WARM_MAX_MS) return;
    // Blocks before the window, and in it.
    let split = ends.length;
    while (split > 0 && ends[split - 1]! > t1 - WARM_QUIET_MS) split--;
    if (split === 0 || ends.length - split < WARM_STABLE) continue;
    if (Math.min(...took.slice(split)) >= WARM_GAIN * Math.min(...took.slice(0, split))) return;
  }
}

export class VerifyCostModel {
  /** The fitted curve: grid points with monotone costs. */
  private curve: CostPoint[];
  /** Timings per grid point taken at load. */
  private readonly loadSamples: number[][];
  /** Recent real-step timings per grid point (oldest first). */
  private readonly online: number[][];
  /** The step (count of `observe` calls) each online timing was taken at. */
  private readonly onlineAt: number[][];
  private observed = 0;
  /** Grid points whose load-time timings real steps have replaced (MIN_ONLINE of them, once): for good, even after those expire. */
  private readonly superseded: boolean[];
  /**
   * The first fitted curve: its shape scales a timing taken between grid points onto the grid, and
   * fills the grid points that have no timing from those that have.
   */
  private readonly shape: readonly CostPoint[];
  /**
   * Per grid point: the median of the timings it uses and how many there are, kept between steps
   * and recomputed only where a step changed them (a step adds to one point; old timings expire
   * seldom), so a step's refit is a fill and a fit over the grid, not a sort of every point.
   */
  private readonly pointMedian: (number | undefined)[];
  private readonly pointCount: number[];
  private readonly stale: boolean[];
  /** refit's scratch, one slot per grid point (a step's refit allocates nothing). */
  private readonly filled: Float64Array;
  private readonly fitWeights: Float64Array;
  private readonly fitted: Float64Array;
  private readonly fitScratch: Float64Array;
  private readonly fitCounts: Int32Array;
  /** A grid point's timings, sorted for their median (grown as needed). */
  private medianScratch = new Float64Array(32);

  /**
   * From measured points (each taken as one sample of its grid point). `samples`, when given,
   * are the timings per point: the curve is their medians, fitted monotone. A point whose samples
   * are empty has no timing: `points` gives only its shape.
   */
  constructor(points: readonly CostPoint[], samples?: readonly (readonly number[])[]) {
    this.loadSamples = points.map((p, i) => [...(samples?.[i] ?? [p.ms])]);
    this.online = points.map(() => []);
    this.onlineAt = points.map(() => []);
    this.superseded = points.map(() => false);
    this.curve = points.map((p) => ({ ...p }));
    this.pointMedian = points.map(() => undefined);
    this.pointCount = points.map(() => 0);
    this.stale = points.map(() => true);
    [this.filled, this.fitWeights, this.fitted, this.fitScratch] = points.map(() => new Float64Array(points.length));
    this.fitCounts = new Int32Array(points.length);
    this.shape = points.map((p) => ({ ...p })); // the points as given, for refit to fill untimed points from
    if (samples) this.refit();
    // refit writes the curve in place: the shape is a copy of the first fit, not the curve itself.
    this.shape = this.curve.map((p) => ({ ...p }));
  }

  /**
   * A curve that times nothing up front: PRIOR_SLOPE's shape (in units of cost(1): only the ratios
   * size trees) until real steps time it. No forward of its own, so a one-shot run pays nothing
   * for it; its first trees are sized on the prior and on the first steps, which run on code that
   * is still warming up (see warmUp).
   */
  static learned(sizes: readonly number[] = COST_GRID): VerifyCostModel {
    return new this(
      sizes.map((tokens) => ({ tokens, ms: 1 + PRIOR_SLOPE * (tokens - 1) })),
      sizes.map(() => []),
    );
  }

  /**
   * Median wall times of forwards of each grid size after `past` cached tokens, `repeats` each,
   * fitted monotone, taken once the model's code has warmed up (warmUp). The forwards read back
   * what the steps the curve sizes will (`readBack`; default: a greedy step's).
   */
  static async measure(lm: LanguageModel, opts: MeasureOptions = {}): Promise<VerifyCostModel> {
    const { sizes = COST_GRID, past = 96, repeats = 5, clock = performance, readBack = greedyReadBack(lm) } = opts;
    const forward = stepForward(lm, readBack);
    const rng = new Rng(1);
    const V = lm.spec.vocabSize;
    const token = () => 3 + Math.floor(rng.next() * (V - 3));
    const cache = lm.newCache();
    const ctx = Array.from({ length: past }, token);
    await lm.forward(ctx, ctx.map((_, i) => i), cache);
    await warmUp(lm, forward, cache, past, token, clock);
    const grid = sizes.filter((s) => past + s <= lm.spec.contextLength);
    const times: number[][] = grid.map(() => []);
    // Rounds over the whole grid rather than repeats of one size: a slow patch of a busy machine
    // then lands on one sample of every size, not on every sample of one.
    for (let r = 0; r < repeats; r++) {
      for (let g = 0; g < grid.length; g++) {
        const fed = Array.from({ length: grid[g]! }, token);
        const t0 = clock.now();
        await forward(fed, fed.map((_, i) => past + i), cache);
        times[g]!.push(clock.now() - t0);
        cache.truncate(past);
      }
    }
    cache.release?.();
    return new VerifyCostModel(
      grid.map((tokens, g) => ({ tokens, ms: median(times[g]!) })),
      times,
    );
  }

  /** The grid sizes the model knows. */
  get points(): readonly CostPoint[] {
    return this.curve;
  }

  /**
   * A real forward of `tokens` tokens took `ms`: it becomes a sample of the nearest grid point at
   * or above `tokens`, scaled by the first curve's ratio between the two sizes (a fixed shape, so
   * samples cannot feed back into their own scaling), and the curve is refitted.
   */
  observe(tokens: number, ms: number): void {
    const p = this.curve;
    if (p.length === 0 || !(ms > 0) || !Number.isFinite(ms)) return;
    let g = 0;
    while (g < p.length - 1 && p[g]!.tokens < tokens) g++;
    const scale = interpolate(this.shape, p[g]!.tokens) / interpolate(this.shape, tokens);
    const window = this.online[g]!;
    const at = this.onlineAt[g]!;
    window.push(ms * scale);
    at.push(++this.observed);
    if (window.length > WINDOW) window.shift(), at.shift();
    if (window.length >= MIN_ONLINE) this.superseded[g] = true;
    this.stale[g] = true;
    for (let i = 0; i < this.online.length; i++) {
      const w = this.online[i]!;
      const times = this.onlineAt[i]!;
      while (times.length > 0 && times[0]! <= this.observed - MAX_AGE) w.shift(), times.shift(), (this.stale[i] = true);
    }
    this.refit();
  }

  /**
   * Whether the cost at `tokens` deserves another real step soon: it has fewer than MIN_ONLINE
   * real timings and the latest came in well under the curve (the load-time timings look too high).
   */
  doubtful(tokens: number): boolean {
    const g = this.curve.findIndex((q) => q.tokens >= tokens);
    const window = g < 0 ? undefined : this.online[g]!;
    return !!window && window.length > 0 && window.length < MIN_ONLINE && window[window.length - 1]! < 0.8 * this.curve[g]!.ms;
  }

  /** Interpolated (and linearly extrapolated) cost of feeding `tokens` tokens, in ms. */
  cost(tokens: number): number {
    return interpolate(this.curve, tokens);
  }

  /**
   * cost(1) .. cost(n) into out[1] .. out[n], the same values, in one walk along the curve: the
   * selector prices every size of a step's candidate (up to ~100), where a search per size cost
   * more than the rest of its scan.
   */
  costsInto(out: Float64Array, n: number): void {
    const p = this.curve;
    if (p.length < 2) {
      for (let k = 1; k <= n; k++) out[k] = this.cost(k);
      return;
    }
    const last = p.length - 1;
    let i = 1;
    for (let k = 1; k <= n; k++) {
      if (k <= p[0]!.tokens) {
        out[k] = p[0]!.ms;
        continue;
      }
      while (i < last && k > p[i]!.tokens) i++;
      out[k] = onSegment(p, i, k);
    }
  }

  summary(): { tokens: number; ms: number }[] {
    return this.curve.map((p) => ({ tokens: p.tokens, ms: Math.round(p.ms * 100) / 100 }));
  }

  private refit(): void {
    const n = this.stale.length;
    let timed = 0;
    for (let g = 0; g < n; g++) {
      if (this.stale[g]) {
        const o = this.online[g]!;
        const load = this.superseded[g] ? NO_SAMPLES : this.loadSamples[g]!;
        const used = load.length + o.length;
        if (this.medianScratch.length < used) this.medianScratch = new Float64Array(2 * used);
        const s = this.medianScratch;
        s.set(load);
        s.set(o, load.length);
        this.pointMedian[g] = used > 0 ? medianIn(s, used) : undefined;
        this.pointCount[g] = used;
        this.stale[g] = false;
      }
      timed += this.pointCount[g]!;
    }
    if (timed === 0) return; // nothing timed yet: the curve is its shape
    fillInto(this.shape, this.pointMedian, this.filled);
    // A filled point weighs next to nothing: where it disagrees with a timed one, the timing wins.
    for (let g = 0; g < n; g++) this.fitWeights[g] = this.pointCount[g]! || 0.01;
    isotonicInto(this.filled, this.fitWeights, this.fitted, this.fitScratch, this.fitCounts);
    for (let g = 0; g < n; g++) this.curve[g]!.ms = this.fitted[g]!;
  }
}
