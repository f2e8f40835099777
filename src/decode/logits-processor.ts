/**
 * History-dependent logit transforms, applied to a row before temperature and truncation, in the
 * order vLLM applies them: logit bias, repetition penalty (prompt and output tokens, HF's rule:
 * positive logits divided, negative multiplied), then presence and frequency penalties (output
 * tokens only, OpenAI's rule: logit -= presence * [count > 0] + frequency * count).
 *
 * A row is processed with the history of the token it predicts: what was emitted so far plus the
 * `pending` tokens of the tree path being verified. Plain decoding and every tree node therefore
 * see the same transform for the same context, which keeps speculation lossless under penalties.
 */
import { checkParams, invalidArgument, PARAM_DEFAULTS } from "./params.ts";

export interface PenaltyOptions {
  /** Token id -> added to its logit (OpenAI's logit_bias, -100..100). */
  logitBias?: Readonly<Record<number, number>>;
  /** > 0; 1 = off. */
  repetitionPenalty?: number;
  /** -2..2; 0 = off. */
  presencePenalty?: number;
  /** -2..2; 0 = off. */
  frequencyPenalty?: number;
}


export class LogitsProcessor {
  private readonly bias: [number, number][];
  private readonly repetition: number;
  private readonly presence: number;
  private readonly frequency: number;
  private readonly prompt = new Set<number>();
  /** Output tokens so far and how often each occurred. */
  private readonly counts = new Map<number, number>();
  private scratch = new Float32Array(0);

  constructor(o: PenaltyOptions = {}) {
    checkParams(o, invalidArgument);
    this.bias = Object.entries(o.logitBias ?? {}).map(([id, b]) => [Number(id), b]);
    this.repetition = o.repetitionPenalty ?? PARAM_DEFAULTS.repetitionPenalty;
    this.presence = o.presencePenalty ?? PARAM_DEFAULTS.presencePenalty;
    this.frequency = o.frequencyPenalty ?? PARAM_DEFAULTS.frequencyPenalty;
  }

  /** Whether any transform is on (else rows are used as they are, with no copy). */
  get active(): boolean {
    return this.bias.length > 0 || this.repetition !== 1 || this.presence !== 0 || this.frequency !== 0;
  }

  begin(prompt: readonly number[]): void {
    this.prompt.clear();
    this.counts.clear();
    for (const t of prompt) this.prompt.add(t);
  }

  /** An emitted output token. */
  accept(token: number): void {
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
  }

  /**
   * The row at `offset`, transformed for a context of the accepted output plus `pending`: the
   * row itself when nothing is active, else a scratch copy (valid until the next call).
   */
  process(logits: Float32Array, offset: number, vocab: number, pending: readonly number[]): { data: Float32Array; offset: number } {
    if (!this.active) return { data: logits, offset };
    if (this.scratch.length < vocab) this.scratch = new Float32Array(vocab);
    const row = this.scratch;
    row.set(logits.subarray(offset, offset + vocab));
    for (const [id, b] of this.bias) if (id < vocab) row[id]! += b;
    // `pending` is a few tree tokens: counted on their own, not by copying the output's counts.
    const inPath = new Map<number, number>();
    for (const t of pending) inPath.set(t, (inPath.get(t) ?? 0) + 1);
    if (this.repetition !== 1) {
      // Each token of prompt ∪ output ∪ path exactly once.
      const penalise = (t: number) => {
        if (t < vocab) row[t] = row[t]! > 0 ? row[t]! / this.repetition : row[t]! * this.repetition;
      };
      for (const t of this.prompt) penalise(t);
      for (const t of this.counts.keys()) if (!this.prompt.has(t)) penalise(t);
      for (const t of inPath.keys()) if (!this.prompt.has(t) && !this.counts.has(t)) penalise(t);
    }
    if (this.presence !== 0 || this.frequency !== 0) {
      const penalise = (t: number, c: number) => {
        if (t < vocab) row[t]! -= this.presence + this.frequency * c;
      };
      for (const [t, c] of this.counts) penalise(t, c + (inPath.get(t) ?? 0));
      for (const [t, c] of inPath) if (!this.counts.has(t)) penalise(t, c);
    }
    return { data: row, offset: 0 };
  }
}
