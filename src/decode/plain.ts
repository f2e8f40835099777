/**
 * Plain (non-speculative) decoding: prefill the prompt (prefill.ts), then one token per forward.
 * It is the reference every speculative path must reproduce token for token.
 */
import { EdgespecError } from "../errors.ts";
import { checkParam, invalidArgument, PARAM_DEFAULTS } from "./params.ts";
import type { LanguageModel, SequenceCache } from "../model/causal-lm.ts";
import type { LoadedModel } from "../model/load.ts";
import { type FinishReason, TokenOutput } from "./output.ts";
import { prefillLast, prefillRows } from "./prefill.ts";
import { Sampler, type TokenLogprob, type SamplingOptions } from "./sampler.ts";

export interface GenerateOptions extends SamplingOptions {
  /** New tokens at most; default PARAM_DEFAULTS.maxTokens, clipped to what the context has room for. */
  maxTokens?: number;
  stop?: string | readonly string[];
  /** Stop at the model's EOS token(s); default true. */
  stopAtEos?: boolean;
  /** Receives text as it is released (never half a character, never part of a stop string). */
  onText?: (chunk: string) => void;
  signal?: AbortSignal;
  /** Report each output token's log-probability and this many alternatives (0..20); off when unset. */
  logprobs?: number;
  /**
   * With `logprobs`: also each prompt token's (after the first), from the prefill rows, of the
   * model's distribution at the sampling temperature without penalties (what echo reports).
   */
  promptLogprobs?: boolean;
}

export interface GenerateStats {
  promptTokens: number;
  tokens: number;
  prefillMs: number;
  decodeMs: number;
  seconds: number;
  /** Decoding's rate: the tokens after the first (which comes with the prefill) over decodeMs (decodeRate). */
  tokensPerSecond: number;
  backend: string;
  /** The WebGPU adapter, when the backend is webgpu. */
  adapter?: string;
  dtype: string;
  /** Threads the forwards ran on (ModelInfo.threads), where the model says. */
  threads?: number;
  /** Where the KV cache lives between steps: "gpu" (WebGPU buffers) or "cpu" (JS memory). */
  kvCache: "cpu" | "gpu";
  /**
   * Bytes copied from the runtime to JS per generated token while decoding (logits rows, top-k ids,
   * new KV entries, unless the cache stays on the GPU), where the model counts them.
   */
  readBackBytesPerToken?: number;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason | "abort";
  stats: GenerateStats;
  /** One per output token, when `logprobs` was asked for. */
  logprobs?: TokenLogprob[];
  /** One per prompt token, when `promptLogprobs` was asked for (null for the first). */
  promptLogprobs?: (TokenLogprob | null)[];
}

/** Prompt tokens' logprobs from the prefill's rows: token i from row i - 1. */
export function promptLogprobsOf(logits: Float32Array, ids: readonly number[], vocab: number, opts: { temperature?: number; logprobs?: number }): (TokenLogprob | null)[] {
  const raw = new Sampler({ temperature: opts.temperature });
  return ids.map((id, i) => (i === 0 ? null : raw.logprobs(logits, (i - 1) * vocab, vocab, id, opts.logprobs ?? 0)));
}

/** Prompt ids: text is encoded with the tokenizer's special tokens (BOS), ids are taken as given. */
export function promptIds(model: LoadedModel, prompt: string | readonly number[]): number[] {
  const ids = typeof prompt === "string" ? model.tokenizer.encode(prompt, true) : [...prompt];
  if (ids.length === 0) throw new EdgespecError("invalid_argument", "the prompt is empty");
  const ctx = model.lm.spec.contextLength;
  if (ids.length >= ctx) {
    throw new EdgespecError("prompt_too_long", `the prompt has ${ids.length} tokens but the context holds ${ctx} (room for at least one new token is needed)`);
  }
  return ids;
}

/** `stop` as a list: one string is a list of one, as in OpenAI's API; anything else is refused by name. */
function stopStrings(stop: unknown): readonly string[] | undefined {
  if (stop === undefined) return undefined;
  if (typeof stop === "string") return [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === "string")) return stop;
  throw new EdgespecError("invalid_argument", `stop must be a string or an array of strings, got ${JSON.stringify(stop) ?? typeof stop}`);
}

/** The stop machinery shared by plain and speculative decoding. */
export function newOutput(model: LoadedModel, promptLength: number, opts: Pick<GenerateOptions, "maxTokens" | "stop" | "stopAtEos">): TokenOutput {
  const room = model.lm.spec.contextLength - promptLength;
  const maxTokens = opts.maxTokens ?? PARAM_DEFAULTS.maxTokens;
  checkParam("maxTokens", maxTokens, invalidArgument);
  return new TokenOutput(model.tokenizer, {
    maxTokens: Math.min(maxTokens, room),
    stopTokens: opts.stopAtEos === false ? [] : model.lm.spec.eosTokenIds,
    stopStrings: stopStrings(opts.stop),
  });
}

/** Tokens a generation decoded: all but the first, which comes with the prefill (its forward is prefillMs'). */
export function decodedTokens(tokens: number): number {
  return Math.max(0, tokens - 1);
}

/** Tokens per second of decoding, as the bench's tables count it: tokens decoded (decodedTokens) over decodeMs; 0 when there is nothing to rate. */
export function decodeRate(decoded: number, decodeMs: number): number {
  return decoded > 0 && decodeMs > 0 ? (decoded / decodeMs) * 1000 : 0;
}

/** `readBackAtDecode`: the model's read-back counter when decoding began (after the prefill). */
export function finishStats(model: LoadedModel, prompt: number, tokens: number, prefillMs: number, decodeMs: number, readBackAtDecode?: number): GenerateStats {
  const now = model.lm.readBackBytes;
  const readBack = readBackAtDecode === undefined || now === undefined ? undefined : now - readBackAtDecode;
  return {
    promptTokens: prompt,
    tokens,
    prefillMs: round(prefillMs),
    decodeMs: round(decodeMs),
    seconds: round((prefillMs + decodeMs) / 1000, 3),
    tokensPerSecond: round(decodeRate(decodedTokens(tokens), decodeMs)),
    backend: model.lm.info.backend,
    ...(model.lm.info.adapter ? { adapter: model.lm.info.adapter } : {}),
    dtype: model.lm.info.dtype,
    ...(model.lm.info.threads ? { threads: model.lm.info.threads } : {}),
    kvCache: model.lm.info.kvCache ?? "cpu",
    ...(readBack !== undefined && tokens > 1 ? { readBackBytesPerToken: Math.round(readBack / (tokens - 1)) } : {}),
  };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export async function generatePlain(model: LoadedModel, prompt: string | readonly number[], opts: GenerateOptions = {}): Promise<GenerateResult> {
  // The cache lives as long as the generation: what it holds outside JS memory (GPU buffers) is freed at the end, error or not.
  const cache = model.lm.newCache();
  try {
    return await generatePlainWith(model, prompt, opts, cache);
  } finally {
    cache.release?.();
  }
}

/**
 * Whether decoding can take each row's choice from the model's own argmax instead of its logits:
 * greedy on raw logits (the graph's ArgMax breaks ties as the JS argmax does), no logprobs to
 * report, and a model that offers the ids read-back (a GPU KV cache, where logits stay on the GPU).
 * Plain and speculative decoding decide it here, so both read the same thing.
 */
export function choosesFromIds(lm: LanguageModel, sampler: Sampler, logprobs: number | undefined): boolean {
  return lm.forwardTop !== undefined && sampler.rawArgmax && logprobs === undefined;
}

async function generatePlainWith(model: LoadedModel, prompt: string | readonly number[], opts: GenerateOptions, cache: SequenceCache): Promise<GenerateResult> {
  const ids = promptIds(model, prompt);
  const out = newOutput(model, ids.length, opts);
  const { lm } = model;
  const V = lm.spec.vocabSize;
  const sampler = new Sampler(opts, V);
  sampler.begin(ids);
  const logprobs: TokenLogprob[] = [];
  // Aborted before it began: no forward, nothing generated (as speculative decoding does).
  if (opts.signal?.aborted) return { text: "", tokens: [], finishReason: "abort", stats: finishStats(model, ids.length, 0, 0, 0), ...(opts.logprobs === undefined ? {} : { logprobs }) };
  const t0 = performance.now();
  // Only the last row is read: a model that can return just that is asked for just that.
  let logits = lm.forwardLast ? (await prefillLast(lm, ids, cache, 0)).last : await prefillRows(lm, ids, cache);
  let row = lm.forwardLast ? 0 : (ids.length - 1) * V;
  const t1 = performance.now();
  const r1 = lm.readBackBytes;
  const fromIds = choosesFromIds(lm, sampler, opts.logprobs);
  /** The next token when the model read back only its choice (fromIds). */
  let chosen: number | undefined;
  let finish: FinishReason | "abort" | undefined;
  while (!finish) {
    if (opts.signal?.aborted) {
      finish = "abort";
      break;
    }
    const next = chosen ?? sampler.pick(logits, row, V);
    const lp = opts.logprobs === undefined ? undefined : sampler.logprobs(logits, row, V, next, opts.logprobs);
    sampler.accept(next);
    const before = out.tokens.length;
    const r = out.push(next);
    if (lp && out.tokens.length > before) logprobs.push(lp);
    if (r.text) opts.onText?.(r.text);
    if (r.finish) {
      finish = r.finish;
      break;
    }
    if (fromIds) chosen = (await lm.forwardTop!([next], [cache.length], cache, false)).argmax[0]!;
    else {
      logits = await lm.forward([next], [cache.length], cache);
      row = 0;
    }
  }
  const t2 = performance.now();
  return { text: out.fullText, tokens: out.tokens, finishReason: finish, stats: finishStats(model, ids.length, out.tokens.length, t1 - t0, t2 - t1, r1), ...(opts.logprobs === undefined ? {} : { logprobs }) };
}
