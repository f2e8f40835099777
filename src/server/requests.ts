/**
 * Validation of /v1/completions and /v1/chat/completions bodies into typed requests. Each check
 * names the offending field in `param`, so a client sees exactly what to fix; nothing here touches
 * the model (token counts are checked where the prompt is encoded).
 */
import { checkParams, MAX_TOP_LOGPROBS, PARAM_DEFAULTS, PARAM_RULES, type Params } from "../decode/params.ts";
import { type ChatMessage, checkChatRole } from "../model/chat-messages.ts";
import { ApiError, invalidParam } from "./api-error.ts";

export interface RequestLimits {
  /** Stop strings per request (OpenAI allows 4). */
  maxStop: number;
  /** Characters per stop string. */
  maxStopLength: number;
  /** Messages per chat request. */
  maxMessages: number;
  /** Prompts per completions request (a batch: `prompt` as a list of prompts; LangChain sends up to 20). */
  maxPrompts: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxStop: 4, maxStopLength: 64, maxMessages: 256, maxPrompts: 20 };

export interface SamplingRequest {
  model: string;
  /** Unset: as many as the context has room for (up to the server's default). 0: completions' echo only (scoring). */
  maxTokens?: number;
  /** The field maxTokens came from, as the client sent it (errors name it). */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  temperature: number;
  topP: number;
  topK: number;
  seed?: number;
  /** Alternatives reported per token (OpenAI logprobs / top_logprobs); unset = no logprobs. */
  logprobs?: number;
  /** Logit transforms (LogitsProcessor): applied per tree node, so speculation stays lossless. */
  penalties: { logitBias?: Record<number, number>; presencePenalty: number; frequencyPenalty: number; repetitionPenalty: number; minP: number };
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  /** edgespec's own field: which drafter speeds this request up. */
  drafter?: string;
  /** Predicted Outputs: text the answer is expected to copy (drafted first, only verified). */
  prediction?: string;
  /** vLLM's extension: keep going past the end-of-sequence token (load tests, benchmarks). */
  ignoreEos: boolean;
}

export interface CompletionRequest extends SamplingRequest {
  kind: "completion";
  /** One or more prompts (OpenAI's batch form), each text or token ids; one choice each, in order. */
  prompts: (string | number[])[];
  /** Prepend the prompt to the returned text (and, with logprobs, report the prompt's tokens too). */
  echo: boolean;
}

export interface ChatRequest extends SamplingRequest {
  kind: "chat";
  messages: ChatMessage[];
}

export type GenerationRequest = CompletionRequest | ChatRequest;

function present(body: Record<string, unknown>, key: string): boolean {
  return body[key] !== undefined && body[key] !== null;
}

function finiteNumber(body: Record<string, unknown>, key: string): number | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  // JSON.parse turns 1e999 into Infinity; strings such as "NaN" are not numbers at all.
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalidParam(key, `${key} must be a finite number`);
  return v;
}

function integer(body: Record<string, unknown>, key: string, min: number): number | undefined {
  const v = finiteNumber(body, key);
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < min) throw invalidParam(key, `${key} must be an integer >= ${min}, got ${v}`);
  return v;
}

function bool(body: Record<string, unknown>, key: string): boolean {
  if (!present(body, key)) return false;
  if (typeof body[key] !== "boolean") throw invalidParam(key, `${key} must be a boolean`);
  return body[key] as boolean;
}

function stops(body: Record<string, unknown>, limits: RequestLimits): string[] {
  if (!present(body, "stop")) return [];
  const raw = body.stop;
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) throw invalidParam("stop", "stop must be a string or a list of strings");
  if (list.length > limits.maxStop) throw invalidParam("stop", `stop takes at most ${limits.maxStop} strings, got ${list.length}`);
  for (const s of list as string[]) {
    if (s.length > limits.maxStopLength) throw invalidParam("stop", `each stop string must be at most ${limits.maxStopLength} characters, got ${s.length}`);
  }
  return (list as string[]).filter((s) => s.length > 0);
}

/**
 * OpenAI fields this server does not implement, with the values that ask for nothing (those are
 * accepted). Any other value is a 400 naming the field: a client that asked for logprobs or a
 * penalty must be told it did not get one, never be answered as if it had.
 */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  best_of: (v) => v === 1,
  suffix: (v) => v === "",
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === "none",
  functions: (v) => Array.isArray(v) && v.length === 0,
  function_call: (v) => v === "none",
  response_format: (v) => typeof v === "object" && v !== null && (v as Record<string, unknown>).type === "text",
  audio: () => false,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === "text",
};

function refuseUnsupported(body: Record<string, unknown>): void {
  for (const [key, isNoOp] of Object.entries(UNSUPPORTED)) {
    if (present(body, key) && !isNoOp(body[key])) {
      throw new ApiError(400, `${key} is not supported by this server (remove it, or send its default)`, "invalid_request_error", key, "unsupported_parameter");
    }
  }
}

function sampling(body: Record<string, unknown>, limits: RequestLimits, drafters: readonly string[], chat: boolean): SamplingRequest {
  if (body.model !== undefined && body.model !== null && typeof body.model !== "string") throw invalidParam("model", `model must be a string (see GET /v1/models), got ${typeof body.model}`);
  if (typeof body.model !== "string" || body.model.length === 0) {
    throw new ApiError(400, "model is required (see GET /v1/models)", "invalid_request_error", "model", "missing_required_parameter");
  }
  refuseUnsupported(body);
  const n = integer(body, "n", 1);
  if (n !== undefined && n !== 1) throw invalidParam("n", "only n = 1 is supported");
  // max_completion_tokens is the newer name; when both are given it wins, as in OpenAI's API.
  // Both are validated: a valid one never hides an invalid other.
  // Completions with echo also take 0: the prompt back with its logprobs, nothing generated (scoring).
  const minTokens = !chat && body.echo === true ? 0 : PARAM_RULES.maxTokens.min;
  const maxCompletionTokens = integer(body, "max_completion_tokens", minTokens);
  const legacyMaxTokens = integer(body, "max_tokens", minTokens);
  const maxTokens = maxCompletionTokens ?? legacyMaxTokens;
  const maxTokensField = maxCompletionTokens !== undefined ? "max_completion_tokens" : legacyMaxTokens !== undefined ? "max_tokens" : undefined;
  // Ranges and defaults: decode/params.ts, as for the CLI and the library.
  const p: Params = { temperature: finiteNumber(body, "temperature"), topP: finiteNumber(body, "top_p"), topK: finiteNumber(body, "top_k"), seed: finiteNumber(body, "seed") };
  checkParams(p, invalidParam);
  const temperature = p.temperature ?? PARAM_DEFAULTS.temperature;
  const topP = p.topP ?? PARAM_DEFAULTS.topP;
  const topK = p.topK ?? PARAM_DEFAULTS.topK;
  const seed = p.seed;
  const stream = bool(body, "stream");
  let includeUsage = false;
  if (present(body, "stream_options")) {
    const so = body.stream_options;
    if (typeof so !== "object" || so === null || Array.isArray(so)) throw invalidParam("stream_options", "stream_options must be an object");
    includeUsage = bool(so as Record<string, unknown>, "include_usage");
  }
  let drafter: string | undefined;
  if (present(body, "drafter")) {
    if (typeof body.drafter !== "string" || !drafters.includes(body.drafter)) {
      throw invalidParam("drafter", `unknown drafter ${JSON.stringify(body.drafter)} (valid: ${drafters.join(", ")})`);
    }
    drafter = body.drafter;
  }
  const ignoreEos = bool(body, "ignore_eos");
  return { model: body.model, maxTokens, ...(maxTokensField ? { maxTokensField } : {}), temperature, topP, topK, seed, ...logprobsField(body, chat), penalties: penalties(body), stop: stops(body, limits), stream, includeUsage, drafter, ignoreEos, ...predictionField(body) };
}

/** OpenAI's `prediction: {type: "content", content: string | [{type: "text", text}]}`; null = none. */
function predictionField(body: Record<string, unknown>): { prediction?: string } {
  if (!present(body, "prediction") || body.prediction === null) return {};
  const p = body.prediction as Record<string, unknown>;
  const shape = 'prediction must be {"type": "content", "content": string or [{"type": "text", "text": string}]}';
  if (typeof p !== "object" || Array.isArray(p) || p.type !== "content") throw invalidParam("prediction", shape);
  if (typeof p.content === "string") return p.content ? { prediction: p.content } : {};
  if (!Array.isArray(p.content) || p.content.some((part) => typeof part !== "object" || part === null || part.type !== "text" || typeof part.text !== "string")) {
    throw invalidParam("prediction", shape);
  }
  const text = (p.content as { text: string }[]).map((part) => part.text).join("");
  return text ? { prediction: text } : {};
}

/**
 * Chat: `logprobs: true` and `top_logprobs` 0..20 (which needs logprobs). Completions: integer
 * `logprobs` 0..5, the number of alternatives.
 */
function logprobsField(body: Record<string, unknown>, chat: boolean): { logprobs?: number } {
  if (chat) {
    const on = present(body, "logprobs") && body.logprobs !== null ? bool(body, "logprobs") : false;
    const top = present(body, "top_logprobs") && body.top_logprobs !== null ? integer(body, "top_logprobs", 0)! : undefined;
    if (top !== undefined && top > MAX_TOP_LOGPROBS) throw invalidParam("top_logprobs", `top_logprobs must be between 0 and ${MAX_TOP_LOGPROBS}, got ${top}`);
    if (top !== undefined && top > 0 && !on) throw invalidParam("top_logprobs", "top_logprobs needs logprobs: true");
    return on ? { logprobs: top ?? 0 } : {};
  }
  if (!present(body, "logprobs") || body.logprobs === null || body.logprobs === false) return {};
  const n = integer(body, "logprobs", 0)!;
  if (n > 5) throw invalidParam("logprobs", `logprobs must be between 0 and 5, got ${n}`);
  return { logprobs: n };
}

/** OpenAI's presence/frequency penalties and logit_bias, vLLM's repetition_penalty and min_p. */
function penalties(body: Record<string, unknown>): SamplingRequest["penalties"] {
  let logitBias: Record<number, number> | undefined;
  if (present(body, "logit_bias") && body.logit_bias !== null) {
    const lb = body.logit_bias;
    if (typeof lb !== "object" || Array.isArray(lb)) throw invalidParam("logit_bias", "logit_bias must be an object of token id -> bias");
    logitBias = lb as Record<number, number>;
  }
  const p: Params = {
    ...(logitBias && Object.keys(logitBias).length > 0 ? { logitBias } : {}),
    presencePenalty: finiteNumber(body, "presence_penalty"),
    frequencyPenalty: finiteNumber(body, "frequency_penalty"),
    repetitionPenalty: finiteNumber(body, "repetition_penalty"),
    minP: finiteNumber(body, "min_p"),
  };
  checkParams(p, invalidParam);
  return {
    ...(p.logitBias ? { logitBias: Object.fromEntries(Object.entries(p.logitBias).map(([id, b]) => [Number(id), b])) } : {}),
    presencePenalty: p.presencePenalty ?? PARAM_DEFAULTS.presencePenalty,
    frequencyPenalty: p.frequencyPenalty ?? PARAM_DEFAULTS.frequencyPenalty,
    repetitionPenalty: p.repetitionPenalty ?? PARAM_DEFAULTS.repetitionPenalty,
    minP: p.minP ?? PARAM_DEFAULTS.minP,
  };
}

/**
 * OpenAI's prompt forms: a string, a list of token ids, or a batch (a list of strings or of
 * token-id lists; one choice per prompt). A one-element list of either is a batch of one.
 */
function promptField(body: Record<string, unknown>, limits: RequestLimits): (string | number[])[] {
  const p = body.prompt;
  if (p === undefined || p === null) throw new ApiError(400, "prompt is required", "invalid_request_error", "prompt", "missing_required_parameter");
  if (typeof p === "string") return [p];
  const shape = "prompt must be a string, a list of token ids, or a list of those (one choice per prompt)";
  if (!Array.isArray(p) || p.length === 0) throw invalidParam("prompt", shape);
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isSafeInteger(t) && (t as number) >= 0);
  if (p.every((t) => typeof t === "number")) {
    if (isIds(p)) return [p];
    throw invalidParam("prompt", shape);
  }
  if (!(p.every((x) => typeof x === "string") || p.every(isIds))) throw invalidParam("prompt", shape);
  if (p.length > limits.maxPrompts) throw invalidParam("prompt", `prompt takes at most ${limits.maxPrompts} prompts per request, got ${p.length}`);
  return p as (string | number[])[];
}

function messageContent(m: Record<string, unknown>, i: number): string {
  const c = m.content;
  if (typeof c === "string") return c;
  // OpenAI lets an assistant turn that made tool calls leave its content out, or null.
  if ((c === null || (c === undefined && Array.isArray(m.tool_calls))) && m.role === "assistant") return "";
  if (Array.isArray(c)) {
    const parts = c.map((part) => {
      const p = part as Record<string, unknown> | null;
      if (p && p.type === "text" && typeof p.text === "string") return p.text;
      throw invalidParam(`messages[${i}].content`, "only text content parts are supported");
    });
    return parts.join("");
  }
  throw invalidParam(`messages[${i}].content`, "content must be a string or a list of text parts");
}

/**
 * The fields of a message that chat templates read besides role and content (a tool-calling
 * template renders an assistant's `tool_calls` and a tool result's `tool_call_id`; some print
 * `name`), handed to the template as the client sent them, checked only for their type.
 */
function passedThrough(m: Record<string, unknown>, i: number): Pick<ChatMessage, "name" | "tool_call_id" | "tool_calls"> {
  const out: Pick<ChatMessage, "name" | "tool_call_id" | "tool_calls"> = {};
  for (const key of ["name", "tool_call_id"] as const) {
    const v = m[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") throw invalidParam(`messages[${i}].${key}`, `${key} must be a string`);
    out[key] = v;
  }
  const calls = m.tool_calls;
  if (calls !== undefined && calls !== null) {
    if (!Array.isArray(calls) || calls.some((c) => typeof c !== "object" || c === null || Array.isArray(c))) throw invalidParam(`messages[${i}].tool_calls`, "tool_calls must be a list of objects");
    out.tool_calls = calls as Record<string, unknown>[];
  }
  return out;
}

function messagesField(body: Record<string, unknown>, limits: RequestLimits): ChatMessage[] {
  const ms = body.messages;
  if (ms === undefined || ms === null) throw new ApiError(400, "messages is required", "invalid_request_error", "messages", "missing_required_parameter");
  if (!Array.isArray(ms) || ms.length === 0) throw invalidParam("messages", "messages must be a non-empty list");
  if (ms.length > limits.maxMessages) throw invalidParam("messages", `at most ${limits.maxMessages} messages, got ${ms.length}`);
  return ms.map((raw, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidParam(`messages[${i}]`, "each message must be an object");
    const m = raw as Record<string, unknown>;
    checkChatRole(m.role, (message) => invalidParam(`messages[${i}].role`, message));
    const extra = passedThrough(m, i);
    return { role: m.role, content: messageContent(m, i), ...extra };
  });
}

export function parseCompletion(body: Record<string, unknown>, limits: RequestLimits, drafters: readonly string[]): CompletionRequest {
  const s = sampling(body, limits, drafters, false);
  const echo = bool(body, "echo");
  if (echo && s.stream && s.logprobs !== undefined) throw invalidParam("echo", "echo with logprobs is not supported when streaming (use one of them, or stream: false)");
  return { kind: "completion", ...s, prompts: promptField(body, limits), echo };
}

export function parseChat(body: Record<string, unknown>, limits: RequestLimits, drafters: readonly string[]): ChatRequest {
  const s = sampling(body, limits, drafters, true);
  if (present(body, "echo") && body.echo !== false) throw new ApiError(400, "echo is a completions field; chat completions do not take it", "invalid_request_error", "echo", "unsupported_parameter");
  return { kind: "chat", ...s, messages: messagesField(body, limits) };
}
