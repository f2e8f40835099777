/**
 * Structured request logs (`edgespec serve --log-requests`): one JSON object per generation
 * request once its answer is complete (a stream's last event included), for log shippers.
 * What a request needs is collected while it runs; nothing is written unless a sink is given.
 */
import type { SpecResult } from "../engine/spec-stats.ts";
import { finishReason } from "./openai.ts";
import type { AbortReason } from "./service.ts";

export interface RequestLogEntry {
  /** ISO time the request arrived. */
  time: string;
  /** The response id (`cmpl-…` / `chatcmpl-…`), absent when refused before one was made. */
  id?: string;
  /** The x-request-id the response carried (the client's own when it sent a sane one). */
  requestId?: string;
  endpoint: "completions" | "chat.completions";
  stream: boolean;
  /** The HTTP status the client got (a stream that failed mid-way: 200, with `error`). */
  status: number;
  /** An error's stable code (`context_length_exceeded`, `queue_full`, ...). */
  error?: string;
  /** Why the work stopped early: the client left, or the deadline passed. */
  aborted?: AbortReason;
  promptTokens?: number;
  completionTokens?: number;
  finishReason?: string;
  /** Waiting for the model (queue; a batch's turns summed), prefill and decode, and everything from arrival. */
  queueMs?: number;
  prefillMs?: number;
  decodeMs?: number;
  totalMs: number;
  drafter?: string;
  meanAcceptedLength?: number;
  draftedTokens?: number;
  acceptedTokens?: number;
}

export type RequestLog = (entry: RequestLogEntry) => void;

const r1 = (x: number) => Math.round(x * 10) / 10;

/** What one request has told so far; `entry()` turns it into the logged line. */
export class RequestRecord {
  private readonly arrived = performance.now();
  private readonly time = new Date().toISOString();
  id?: string;
  stream = false;
  queueMs?: number;
  result?: SpecResult;
  aborted?: AbortReason;

  constructor(
    private readonly kind: "completion" | "chat",
    private readonly requestId?: string,
  ) {}

  entry(status: number, error?: string): RequestLogEntry {
    const r = this.result;
    const s = r?.stats;
    return {
      time: this.time,
      ...(this.id ? { id: this.id } : {}),
      ...(this.requestId ? { requestId: this.requestId } : {}),
      endpoint: this.kind === "chat" ? "chat.completions" : "completions",
      stream: this.stream,
      status,
      ...(error ? { error } : {}),
      ...(this.aborted ? { aborted: this.aborted } : {}),
      ...(s ? { promptTokens: s.promptTokens, completionTokens: s.tokens, finishReason: finishReason(r!) } : {}),
      ...(this.queueMs !== undefined ? { queueMs: r1(this.queueMs) } : {}),
      ...(s ? { prefillMs: r1(s.prefillMs), decodeMs: r1(s.decodeMs) } : {}),
      totalMs: r1(performance.now() - this.arrived),
      ...(s ? { drafter: s.drafter, meanAcceptedLength: s.meanAcceptedLength, draftedTokens: s.draftedTokens, acceptedTokens: s.acceptedTokens } : {}),
    };
  }
}
