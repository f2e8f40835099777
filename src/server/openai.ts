/**
 * Response objects in OpenAI's shapes (completion, chat.completion and their stream chunks), plus
 * llama.cpp-style `timings` carrying the speculative figures that OpenAI's schema has no room for.
 */
import { chatLogprobs, completionLogprobs, type TokenText } from "./logprobs.ts";
import type { SpecResult } from "../engine/spec-stats.ts";
import { decodeRate, decodedTokens } from "../decode/plain.ts";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** With a prediction (OpenAI's Predicted Outputs). */
  completion_tokens_details?: { accepted_prediction_tokens: number; rejected_prediction_tokens: number };
}

export interface Timings {
  prompt_n: number;
  prompt_ms: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_second: number;
  draft_n: number;
  draft_n_accepted: number;
  mean_accepted_length: number;
  /** "tree" or "chain" verification, and why chain (the model's layout, a rejected rewrite). */
  verify_mode: "tree" | "chain";
  verify_mode_reason?: string;
  /** The backend, its WebGPU adapter, where the KV cache lives, and bytes read back to JS per decoded token. */
  backend: string;
  adapter?: string;
  /** Threads the forwards ran on (the WASM pool, or the native session's). */
  threads?: number;
  kv_cache: "cpu" | "gpu";
  read_back_bytes_per_token?: number;
}

/**
 * OpenAI has no "abort". An aborted generation never reaches a normal response (a disconnected
 * client gets nothing, a deadline gets 504 or an error chunk); should one, it reads as "length".
 */
export type OpenAiFinish = "stop" | "length";

export function finishReason(r: SpecResult): OpenAiFinish {
  return r.finishReason === "stop" ? "stop" : "length";
}

export function usage(r: SpecResult): Usage {
  const u: Usage = { prompt_tokens: r.stats.promptTokens, completion_tokens: r.stats.tokens, total_tokens: r.stats.promptTokens + r.stats.tokens };
  const p = r.stats.prediction;
  if (p) u.completion_tokens_details = { accepted_prediction_tokens: p.acceptedTokens, rejected_prediction_tokens: p.rejectedTokens };
  return u;
}

export function timings(r: SpecResult): Timings {
  const s = r.stats;
  return {
    prompt_n: s.promptTokens,
    prompt_ms: s.prefillMs,
    predicted_n: s.tokens,
    predicted_ms: s.decodeMs,
    predicted_per_second: s.tokensPerSecond,
    draft_n: s.draftedTokens,
    draft_n_accepted: s.acceptedTokens,
    mean_accepted_length: s.meanAcceptedLength,
    verify_mode: s.verifyMode,
    ...(s.verifyModeReason ? { verify_mode_reason: s.verifyModeReason } : {}),
    backend: s.backend,
    ...(s.adapter ? { adapter: s.adapter } : {}),
    ...(s.threads ? { threads: s.threads } : {}),
    kv_cache: s.kvCache,
    ...(s.readBackBytesPerToken === undefined ? {} : { read_back_bytes_per_token: s.readBackBytesPerToken }),
  };
}

/** Identity shared by every chunk of one response (OpenAI clients expect the same id and created). */
export interface ResponseIds {
  id: string;
  created: number;
  model: string;
  /** OpenAI's system_fingerprint: the backend configuration the answer came from (ModelService.fingerprint). */
  fingerprint: string;
}

export function newIds(kind: "completion" | "chat", model: string, fingerprint: string): ResponseIds {
  const rand = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
  return { id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${rand}`, created: Math.floor(Date.now() / 1000), model, fingerprint };
}

/**
 * A batch's generations as one (usage and timings of a request with several prompts): counts and
 * times summed, rates recomputed; one generation is returned as it is.
 */
export function combineResults(rs: readonly SpecResult[]): SpecResult {
  if (rs.length === 1) return rs[0]!;
  const sum = (f: (s: SpecResult["stats"]) => number) => rs.reduce((a, r) => a + f(r.stats), 0);
  const last = rs[rs.length - 1]!;
  const tokens = sum((s) => s.tokens);
  const decodeMs = sum((s) => s.decodeMs);
  // Each generation's first token is the prefill's: rates and tokens per step count the ones after it.
  const decoded = sum((s) => decodedTokens(s.tokens));
  const steps = sum((s) => s.steps);
  const predictions = rs.map((r) => r.stats.prediction).filter((p) => p !== undefined);
  return {
    ...last,
    text: rs.map((r) => r.text).join(""),
    tokens: rs.flatMap((r) => r.tokens),
    stats: {
      ...last.stats,
      promptTokens: sum((s) => s.promptTokens),
      tokens,
      prefillMs: sum((s) => s.prefillMs),
      decodeMs,
      seconds: sum((s) => s.seconds),
      tokensPerSecond: Math.round(decodeRate(decoded, decodeMs) * 100) / 100,
      steps,
      draftedTokens: sum((s) => s.draftedTokens),
      acceptedTokens: sum((s) => s.acceptedTokens),
      meanAcceptedLength: steps ? Math.round((decoded / steps) * 1000) / 1000 : 0,
      drafterMs: sum((s) => s.drafterMs),
      ...(predictions.length ? { prediction: { acceptedTokens: predictions.reduce((a, p) => a + p.acceptedTokens, 0), rejectedTokens: predictions.reduce((a, p) => a + p.rejectedTokens, 0) } } : {}),
    },
  };
}

/** One prompt's generation, and its echo: the prompt (text and ids) returned before the completion. */
export interface CompletionChoice {
  result: SpecResult;
  echo?: { text: string; ids: readonly number[]; hidden?: ReadonlySet<number> };
}

/** One choice per prompt, in prompt order (`index`); usage and timings over them all. */
export function completionBody(ids: ResponseIds, choices: readonly CompletionChoice[], text?: TokenText) {
  const all = combineResults(choices.map((c) => c.result));
  return {
    id: ids.id,
    object: "text_completion",
    created: ids.created,
    model: ids.model,
    system_fingerprint: ids.fingerprint,
    choices: choices.map(({ result: r, echo }, index) => ({
      index,
      text: (echo?.text ?? "") + r.text,
      logprobs: r.logprobs && text ? completionLogprobs(r.logprobs, text, 0, echo && r.promptLogprobs ? { ids: echo.ids, logprobs: r.promptLogprobs, hidden: echo.hidden } : undefined) : null,
      finish_reason: finishReason(r),
    })),
    usage: usage(all),
    timings: timings(all),
  };
}

export function chatBody(ids: ResponseIds, r: SpecResult, text?: TokenText) {
  return {
    id: ids.id,
    object: "chat.completion",
    created: ids.created,
    model: ids.model,
    system_fingerprint: ids.fingerprint,
    choices: [{ index: 0, message: { role: "assistant", content: r.text, refusal: null }, logprobs: r.logprobs && text ? chatLogprobs(r.logprobs, text) : null, finish_reason: finishReason(r) }],
    usage: usage(r),
    timings: timings(r),
  };
}

/**
 * One stream chunk. `text` undefined with `finish` set is the final chunk; `source` (edgespec's
 * own field) says which drafter's accepted guess produced the text, or "model".
 */
export function chunkBody(kind: "completion" | "chat", ids: ResponseIds, part: { text?: string; role?: boolean; finish?: OpenAiFinish; source?: string; timings?: Timings; logprobs?: unknown; index?: number }) {
  const index = part.index ?? 0; // the choice's: a completions batch streams its prompts one after another
  const finish_reason = part.finish ?? null;
  const logprobs = part.logprobs ?? null;
  const extra = { ...(part.source ? { source: part.source } : {}), ...(part.timings ? { timings: part.timings } : {}) };
  if (kind === "completion") {
    return { id: ids.id, object: "text_completion", created: ids.created, model: ids.model, system_fingerprint: ids.fingerprint, choices: [{ index, text: part.text ?? "", logprobs, finish_reason }], ...extra };
  }
  const delta: Record<string, string> = {};
  if (part.role) delta.role = "assistant";
  if (part.text !== undefined) delta.content = part.text;
  return { id: ids.id, object: "chat.completion.chunk", created: ids.created, model: ids.model, system_fingerprint: ids.fingerprint, choices: [{ index, delta, logprobs, finish_reason }], ...extra };
}

/** The usage chunk sent when stream_options.include_usage is set: no choices, usage filled (a batch's: combineResults). */
export function usageChunk(kind: "completion" | "chat", ids: ResponseIds, r: SpecResult) {
  return { id: ids.id, object: kind === "chat" ? "chat.completion.chunk" : "text_completion", created: ids.created, model: ids.model, system_fingerprint: ids.fingerprint, choices: [], usage: usage(r) };
}
