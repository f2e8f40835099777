/**
 * Applies the stop rules to a stream of accepted tokens, one token at a time, in the same order
 * whether the tokens came one per step (plain decoding) or several per step (speculative), so
 * both stop at exactly the same place.
 *
 * Stop rules: an end-of-sequence token (not emitted), `maxTokens`, and stop strings (the output is
 * cut before the first occurrence; text that might be the start of a stop string is held back
 * until it is known not to be, so a streamed client never sees a stop string's prefix retracted).
 */
import { EdgespecError } from "../errors.ts";
import type { TextCodec } from "../model/tokenizer.ts";
import { Detokenizer } from "./detokenizer.ts";

export type FinishReason = "stop" | "length";

export interface StopOptions {
  maxTokens: number;
  stopTokens?: readonly number[];
  stopStrings?: readonly string[];
}

export interface PushResult {
  /** Text released by this token (already cut at a stop string). */
  text: string;
  /** Set when generation must end; the token that ended it is counted only for "length". */
  finish?: FinishReason;
}

export class TokenOutput {
  readonly tokens: number[] = [];
  private readonly detok: Detokenizer;
  private readonly stopTokens: Set<number>;
  private readonly stopStrings: string[];
  private pending = ""; // decoded but held back: could be the start of a stop string
  private text = "";
  private done: FinishReason | undefined;

  constructor(codec: TextCodec, private readonly opts: StopOptions) {
    if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) {
      throw new EdgespecError("invalid_argument", `max tokens must be a positive integer, got ${opts.maxTokens}`);
    }
    this.detok = new Detokenizer(codec);
    this.stopTokens = new Set(opts.stopTokens ?? []);
    this.stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  }

  get finished(): FinishReason | undefined {
    return this.done;
  }

  /** Tokens that may still be emitted before the token limit. */
  get remaining(): number {
    return this.opts.maxTokens - this.tokens.length;
  }

  /** All text released so far. */
  get fullText(): string {
    return this.text;
  }

  push(id: number): PushResult {
    if (this.done) throw new EdgespecError("invalid_argument", "push after the output finished");
    if (this.stopTokens.has(id)) {
      this.done = "stop";
      return { text: this.release(this.pending + this.detok.flush(), true), finish: "stop" };
    }
    this.tokens.push(id);
    let piece = this.detok.push(id);
    const atLimit = this.tokens.length >= this.opts.maxTokens;
    if (atLimit) piece += this.detok.flush();
    const out = this.release(this.pending + piece, atLimit);
    if (this.done) return { text: out, finish: this.done };
    if (atLimit) {
      this.done = "length";
      return { text: out, finish: "length" };
    }
    return { text: out };
  }

  /** Splits `candidate` into text to release now and text to hold; detects stop strings. */
  private release(candidate: string, final: boolean): string {
    this.pending = "";
    let cut = -1;
    for (const s of this.stopStrings) {
      const i = candidate.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.done = "stop";
      const out = candidate.slice(0, cut);
      this.text += out;
      return out;
    }
    let hold = 0;
    if (!final) {
      for (const s of this.stopStrings) {
        for (let k = Math.min(s.length - 1, candidate.length); k > hold; k--) {
          if (candidate.endsWith(s.slice(0, k))) {
            hold = k;
            break;
          }
        }
      }
    }
    this.pending = candidate.slice(candidate.length - hold);
    const out = candidate.slice(0, candidate.length - hold);
    this.text += out;
    return out;
  }
}
