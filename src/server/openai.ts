/**
 * Response objects in OpenAI's shapes (completion, chat.completion and their stream chunks), plus
 * llama.cpp-style `timings` carrying the speculative figures that OpenAI's schema has no room for.
 */
import { chatLogprobs, completionLogprobs, type TokenText } from "./logprobs.ts";
import type { SpecResult } from "../engine/speculative.ts";

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
}

export function newIds(kind: "completion" | "chat", model: string): ResponseIds {
  const rand = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
  return { id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${rand}`, created: Math.floor(Date.now() / 1000), model };
}

/** `echo`: the prompt (text and ids), returned before the completion (legacy completions' echo). */
export function completionBody(ids: ResponseIds, r: SpecResult, text?: TokenText, echo?: { text: string; ids: readonly number[] }) {
  return {
    id: ids.id,
    object: "text_completion",
    created: ids.created,
    model: ids.model,
    choices: [{ index: 0, text: (echo?.text ?? "") + r.text, logprobs: r.logprobs && text ? completionLogprobs(r.logprobs, text, 0, echo && r.promptLogprobs ? { ids: echo.ids, logprobs: r.promptLogprobs } : undefined) : null, finish_reason: finishReason(r) }],
    usage: usage(r),
    timings: timings(r),
  };
}

export function chatBody(ids: ResponseIds, r: SpecResult, text?: TokenText) {
  return {
    id: ids.id,
    object: "chat.completion",
    created: ids.created,
    model: ids.model,
    choices: [{ index: 0, message: { role: "assistant", content: r.text, refusal: null }, logprobs: r.logprobs && text ? chatLogprobs(r.logprobs, text) : null, finish_reason: finishReason(r) }],
    usage: usage(r),
    timings: timings(r),
  };
}

/**
 * One stream chunk. `text` undefined with `finish` set is the final chunk; `source` (edgespec's
 * own field) says which drafter's accepted guess produced the text, or "model".
 */
export function chunkBody(kind: "completion" | "chat", ids: ResponseIds, part: { text?: string; role?: boolean; finish?: OpenAiFinish; source?: string; timings?: Timings; logprobs?: unknown }) {
  const finish_reason = part.finish ?? null;
  const logprobs = part.logprobs ?? null;
  const extra = { ...(part.source ? { source: part.source } : {}), ...(part.timings ? { timings: part.timings } : {}) };
  if (kind === "completion") {
    return { id: ids.id, object: "text_completion", created: ids.created, model: ids.model, choices: [{ index: 0, text: part.text ?? "", logprobs, finish_reason }], ...extra };
  }
  const delta: Record<string, string> = {};
  if (part.role) delta.role = "assistant";
  if (part.text !== undefined) delta.content = part.text;
  return { id: ids.id, object: "chat.completion.chunk", created: ids.created, model: ids.model, choices: [{ index: 0, delta, logprobs, finish_reason }], ...extra };
}

/** The usage chunk sent when stream_options.include_usage is set: no choices, usage filled. */
export function usageChunk(kind: "completion" | "chat", ids: ResponseIds, r: SpecResult) {
  return { id: ids.id, object: kind === "chat" ? "chat.completion.chunk" : "text_completion", created: ids.created, model: ids.model, choices: [], usage: usage(r) };
}
