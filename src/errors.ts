/**
 * Every failure edgespec reports on purpose is an EdgespecError with a stable `code`, so the CLI can
 * print one line and exit non-zero, and the server can map it to an OpenAI-style error body.
 */
export type ErrorCode =
  | "model_not_found" // model directory missing
  | "model_file_missing" // a file the model needs is missing (message names it)
  | "model_invalid" // config or ONNX that cannot be read or does not fit edgespec's contract
  | "invalid_dtype"
  | "invalid_device"
  | "device_unavailable" // e.g. webgpu asked for where no adapter exists
  | "invalid_argument"
  | "prompt_too_long"
  | "invalid_token" // a token id outside the vocabulary
  | "not_ready" // a component used before it was initialised, or after it was closed (a closed LM or model)
  | "permission_denied" // the runtime refused access (Deno without --allow-read); the message names the path
  | "listen_failed" // a server could not listen: the port in use, an address it cannot bind
  | "drafter_failed"; // a drafter threw or broke its contract: the server's fault, never the request's (HTTP 500)

export class EdgespecError extends Error {
  override readonly name = "EdgespecError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { cause?: unknown; validOptions?: readonly string[] } = {},
  ) {
    const valid = options.validOptions ? ` (valid: ${options.validOptions.join(", ")})` : "";
    super(message + valid, options.cause === undefined ? undefined : { cause: options.cause });
    this.validOptions = options.validOptions;
  }
  readonly validOptions: readonly string[] | undefined;
}

export function isEdgespecError(e: unknown): e is EdgespecError {
  return e instanceof EdgespecError;
}

/**
 * Whether `e` is a runtime refusing access (Deno without --allow-read, --allow-env or --allow-net
 * throws NotCapable; Deno before 2, PermissionDenied): the error to turn into permission_denied
 * rather than "not found", "unset" or "corrupt".
 */
export function isPermissionRefusal(e: unknown): boolean {
  const name = (e as { name?: unknown } | null | undefined)?.name;
  return name === "NotCapable" || name === "PermissionDenied";
}
