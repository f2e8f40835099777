/**
 * Turns a row of logits into the next token: argmax when temperature is 0, else a draw from the
 * temperature / top-k / top-p / min-p processed distribution, after the history-dependent
 * transforms of LogitsProcessor (logit bias, penalties). `distribution` exposes that processed
 * distribution so speculative verification samples from exactly what plain decoding samples from.
 * `pending`: tokens of the tree path above the row, not emitted yet, that belong to its history.
 */
import { LogitsProcessor, type PenaltyOptions } from "./logits-processor.ts";
import { checkParams, invalidArgument, PARAM_DEFAULTS, type ParamFailure } from "./params.ts";
import { RankedRow } from "./ranked-row.ts";
import { Rng } from "./rng.ts";

export interface SamplingOptions extends PenaltyOptions {
  /** Drop tokens whose probability is below min_p times the most likely one's; 0 = off. */
  minP?: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 = off; 0 = the most likely token alone (greedy). */
  topP?: number;
  seed?: number;
}

export function argmax(logits: Float32Array, offset = 0, n = logits.length - offset): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** A chosen token's log-probability and the most likely alternatives (OpenAI's logprobs). */
export interface TokenLogprob {
  token: number;
  logprob: number;
  top: { token: number; logprob: number }[];
}

/** `vocab`: the rows' width, when known: logit_bias ids must lie inside it (checkParams decides, as for the server). */
export function checkSampling(o: SamplingOptions, fail: ParamFailure = invalidArgument, vocab?: number): void {
  checkParams(o, fail, vocab);
}

export class Sampler {
  readonly greedy: boolean;
  private readonly rng: Rng;
  private readonly temperature: number;
  private readonly topK: number;
  private readonly topP: number;
  private readonly minP: number;
  private readonly processor: LogitsProcessor;
  private readonly row = new RankedRow();
  private probs = new Float32Array(0);
  private ids = new Int32Array(0);

  /** `vocab`: the width of the rows it will pick from; given, a logit_bias id outside it is refused, not ignored. */
  constructor(opts: SamplingOptions = {}, vocab?: number) {
    checkSampling(opts, invalidArgument, vocab);
    this.temperature = opts.temperature ?? PARAM_DEFAULTS.temperature;
    this.topK = opts.topK ?? PARAM_DEFAULTS.topK;
    this.topP = opts.topP ?? PARAM_DEFAULTS.topP;
    this.minP = opts.minP ?? PARAM_DEFAULTS.minP;
    this.processor = new LogitsProcessor(opts);
    // top_p 0 keeps only the most likely token: that is greedy decoding, taken as such (argmax, no
    // draw, the model's own argmax read-back where it offers one) so its output is exactly greedy's.
    this.greedy = this.temperature === 0 || this.topP === 0;
    this.rng = new Rng(opts.seed ?? Rng.randomSeed());
  }

  /** Greedy on the raw logits (no bias or penalty): each row's choice is its argmax, which a model can compute itself. */
  get rawArgmax(): boolean {
    return this.greedy && !this.processor.active;
  }

  /** Starts a sequence: the prompt is history for the repetition penalty. */
  begin(prompt: readonly number[]): void {
    this.processor.begin(prompt);
  }

  /** A token was emitted: it is history for every later row. */
  accept(token: number): void {
    this.processor.accept(token);
  }

  /** The next token from the logits row at `offset`, whose context ends with `pending`. */
  pick(logits: Float32Array, offset: number, vocab: number, pending: readonly number[] = []): number {
    if (this.greedy) {
      const r = this.processor.process(logits, offset, vocab, pending);
      return argmax(r.data, r.offset, vocab);
    }
    return this.sample(logits, offset, vocab, pending);
  }

  /**
   * Log-probability of `token` and the `top` most likely tokens at a row, in the distribution the
   * choice was made from: after logit bias and penalties, at the sampling temperature (1 when
   * greedy), before top-k/top-p/min-p truncation (as OpenAI and vLLM report them).
   */
  logprobs(logits: Float32Array, offset: number, vocab: number, token: number, top: number, pending: readonly number[] = []): TokenLogprob {
    const { data, offset: o } = this.processor.process(logits, offset, vocab, pending);
    const t = this.temperature > 0 ? this.temperature : 1;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, data[o + v]!);
    let z = 0;
    for (let v = 0; v < vocab; v++) z += Math.exp((data[o + v]! - max) / t);
    const lse = max / t + Math.log(z);
    const lp = (v: number) => data[o + v]! / t - lse;
    const best: number[] = [];
    for (let v = 0; v < vocab && top > 0; v++) {
      // Keep the `top` largest, ties by id: a small insertion list.
      let i = best.length;
      while (i > 0 && data[o + best[i - 1]!]! < data[o + v]!) i--;
      if (i < top) {
        best.splice(i, 0, v);
        if (best.length > top) best.pop();
      }
    }
    return { token, logprob: lp(token), top: best.map((v) => ({ token: v, logprob: lp(v) })) };
  }

  /** One draw from a distribution `distribution` returned. */
  draw(d: { ids: Int32Array; probs: Float32Array; size: number }): number {
    let u = this.rng.next();
    for (let i = 0; i < d.size; i++) {
      u -= d.probs[i]!;
      if (u < 0) return d.ids[i]!;
    }
    return d.ids[d.size - 1]!; // rounding left a sliver: the last kept token
  }

  /**
   * The processed distribution as (ids, probs) sorted by probability, truncated by top-k/top-p.
   * The arrays are reused between calls: copy what must outlive the next call. `pick` draws from
   * the same distribution without building it: `pick` and `draw(distribution(...))` give the same
   * token from the same generator state (tested).
   */
  distribution(raw: Float32Array, rawOffset: number, vocab: number, pending: readonly number[] = []): { ids: Int32Array; probs: Float32Array; size: number } {
    const { size, kept } = this.rank(raw, rawOffset, vocab, pending);
    if (this.probs.length < vocab) {
      this.probs = new Float32Array(vocab);
      this.ids = new Int32Array(vocab);
    }
    for (let i = 0; i < size; i++) {
      this.ids[i] = this.row.at(i);
      this.probs[i] = this.row.weightAt(i) / kept;
    }
    return { ids: this.ids, probs: this.probs, size };
  }

  /** `draw(distribution(...))`, walking the ranks only as far as the draw goes. */
  private sample(raw: Float32Array, rawOffset: number, vocab: number, pending: readonly number[]): number {
    const { size, kept } = this.rank(raw, rawOffset, vocab, pending);
    let u = this.rng.next();
    for (let i = 0; i < size; i++) {
      u -= Math.fround(this.row.weightAt(i) / kept); // as distribution()'s Float32Array holds it
      if (u < 0) return this.row.at(i);
    }
    return this.row.at(size - 1);
  }

  /** Loads the processed row into rank order; the kept ranks [0, size) after top-k, top-p and min-p, and their weight. */
  private rank(raw: Float32Array, rawOffset: number, vocab: number, pending: readonly number[]): { size: number; kept: number } {
    const { data, offset } = this.processor.process(raw, rawOffset, vocab, pending);
    const row = this.row;
    row.load(data, offset, vocab, this.temperature);
    let size = this.topK > 0 ? Math.min(this.topK, vocab) : vocab;
    let kept = row.sumFirst(size);
    if (this.topP < 1) {
      let acc = 0;
      for (let i = 0; i < size; i++) {
        acc += row.weightAt(i) / kept;
        if (acc >= this.topP) {
          size = i + 1;
          break;
        }
      }
      kept = row.sumFirst(size);
    }
    if (this.minP > 0) {
      const floor = this.minP * row.weightAt(0);
      let k = 1;
      while (k < size && row.weightAt(k) >= floor) k++;
      size = k;
      kept = row.sumFirst(size);
    }
    return { size, kept };
  }
}
