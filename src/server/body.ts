/**
 * Reads a request's JSON body under a byte limit and a time limit. The byte limit is enforced
 * while reading (a missing or lying Content-Length cannot make the server buffer more); the time
 * limit closes uploads that stall or trickle (Bun turns its idle timeout off while a body is
 * pending, so without it a client could hold a connection open forever). Every way a body can be
 * wrong is a 4xx in OpenAI's error shape, never an exception that reaches the framework.
 */
import { ApiError } from "./api-error.ts";

function isJsonType(contentType: string | null): boolean {
  if (!contentType) return false;
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"));
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `request body is larger than ${limit} bytes`, "invalid_request_error", null, "request_too_large");
}

export interface BodyLimits {
  /** Bodies above this many bytes get 413. */
  maxBytes: number;
  /** The whole body must arrive within this many ms, else 408 (0 = no limit). */
  timeoutMs: number;
}

/**
 * The client closed the connection before its body arrived: nobody is left to answer. Counted and
 * logged as 499 (nginx's "client closed request", as a generation the client leaves is), not as
 * a server error: a dropped mobile upload must not page anyone.
 */
function uploadAborted(): ApiError {
  return new ApiError(499, "the client closed the connection before the request body arrived", "invalid_request_error", null, "client_closed_request", { connection: "close" });
}

function timedOut(ms: number): ApiError {
  // Connection: close, or the runtime keeps the socket open waiting for the rest of the body.
  return new ApiError(408, `request body did not arrive within ${ms / 1000} s`, "invalid_request_error", null, "request_timeout", { connection: "close" });
}

async function readLimited(req: Request, { maxBytes: limit, timeoutMs }: BodyLimits): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    if (timeoutMs > 0) timer = setTimeout(() => resolve("expired"), timeoutMs);
  });
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      // The runtime rejects the read when the client goes away mid-upload (Bun: an empty error,
      // Node: "aborted"); our own errors come from the checks below, never from here.
      const r = await Promise.race([reader.read().catch(() => "closed" as const), expired]);
      if (r === "closed") throw uploadAborted();
      if (r === "expired") {
        await reader.cancel().catch(() => {});
        throw timedOut(timeoutMs);
      }
      if (r.done) break;
      size += r.value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      parts.push(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** The body as a JSON object (not an array, not a scalar). */
export async function readJsonObject(req: Request, limits: BodyLimits): Promise<Record<string, unknown>> {
  if (!isJsonType(req.headers.get("content-type"))) {
    throw new ApiError(415, `Content-Type must be application/json, got ${req.headers.get("content-type") ?? "none"}`, "invalid_request_error", null, "unsupported_media_type");
  }
  const bytes = await readLimited(req, limits);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, "request body is not valid UTF-8", "invalid_request_error", null, "invalid_json");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `request body is not valid JSON: ${(e as Error).message}`, "invalid_request_error", null, "invalid_json");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "request body must be a JSON object", "invalid_request_error", null, "invalid_json");
  }
  return value as Record<string, unknown>;
}

/**
 * Header bytes as sent on the wire (name, ": ", value, CRLF per field; the request line aside).
 * The app refuses above its limit with a JSON 431; each runtime's parser is set to a higher limit
 * (PARSER_HEADER_LIMIT) so the app's check is the one clients meet.
 */
export function headerBytes(headers: Headers): number {
  let n = 0;
  headers.forEach((value, name) => (n += name.length + value.length + 4));
  return n;
}

/** Request header bytes the app accepts by default (Node's and Bun's own default). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** What adapters set their HTTP parser to: above it the runtime answers on its own (no JSON body). */
export const PARSER_HEADER_LIMIT = 64 * 1024;

/** `size`: what was seen, e.g. "20480 bytes" (or "over 65536 bytes" where the parser stopped reading). */
export function headersTooLarge(size: string, limit: number): ApiError {
  return new ApiError(431, `request headers are ${size}; this server accepts at most ${limit} bytes`, "invalid_request_error", null, "headers_too_large", { connection: "close" });
}
