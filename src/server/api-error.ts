/**
 * Errors the HTTP API returns, in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
 * Every failure a request can cause becomes an ApiError with a 4xx/5xx status chosen here, so
 * clients (the openai SDKs included) see the same error objects they get from OpenAI.
 */
import { type ErrorCode, isEdgespecError } from "../errors.ts";

export type ErrorType = "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" | "rate_limit_error" | "server_error" | "timeout_error";

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After for 429/503, WWW-Authenticate for 401). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 for one request field. */
export function invalidParam(param: string, message: string, code = "invalid_value"): ApiError {
  return new ApiError(400, message, "invalid_request_error", param, code);
}

/** EdgespecError codes a request can trigger, with the status they deserve. */
const STATUS: Partial<Record<ErrorCode, [number, string]>> = {
  invalid_argument: [400, "invalid_value"],
  prompt_too_long: [400, "context_length_exceeded"],
  invalid_token: [400, "invalid_value"],
  not_ready: [503, "model_not_ready"],
};

/**
 * Any thrown value as an ApiError. Library errors a request caused keep their message; anything
 * else is an internal fault: reported as 500 with a generic message (the details go to the log).
 */
export function toApiError(e: unknown, param: string | null = null): ApiError {
  if (e instanceof ApiError) return e;
  if (isEdgespecError(e)) {
    const mapped = STATUS[e.code];
    if (mapped) return new ApiError(mapped[0], e.message, mapped[0] === 503 ? "server_error" : "invalid_request_error", param, mapped[1]);
  }
  return new ApiError(500, "internal error while serving the request", "server_error", null, "internal_error");
}
