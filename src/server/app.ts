/**
 * The HTTP app, the same on every runtime: adapters only hand `app.fetch` to their server.
 * Routes: GET / (playground), GET /health, GET /v1/models, POST /v1/completions,
 * POST /v1/chat/completions, GET /metrics. Every error leaves in OpenAI's error shape.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { PARAM_DEFAULTS } from "../decode/params.ts";
import { ApiError, toApiError } from "./api-error.ts";
import { headerBytes, headersTooLarge, MAX_HEADER_BYTES } from "./body.ts";
import { apiKeyAuth, hostCheck } from "./auth.ts";
import { type GenerationConfig, handleGeneration } from "./generation.ts";
import { PLAYGROUND_HTML } from "./playground.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "./requests.ts";
import type { RequestLog } from "./request-log.ts";
import type { ModelService } from "./service.ts";

export interface AppOptions {
  /** Require this key (Bearer or X-Api-Key) on every path but `openPaths`. */
  apiKey?: string;
  /** When set, requests whose Host header names another host get 403 (DNS rebinding). */
  allowedHosts?: readonly string[];
  /** Paths served without a key when one is set; default ["/health"]. */
  openPaths?: string[];
  /** Origins allowed by CORS ("*" for any); CORS is off when empty. */
  corsOrigins?: string[];
  /** Requests whose headers are above this many bytes get 431; default 16 KiB. */
  maxHeaderBytes?: number;
  /** Request bodies above this many bytes get 413; default 1 MiB. */
  maxBodyBytes?: number;
  /** A request body must arrive within this many ms, else 408 and the connection closes; default 30 s (0 = none). */
  bodyTimeoutMs?: number;
  limits?: Partial<RequestLimits>;
  /** Drafter names a request may ask for; "none" (plain decoding) is always valid. */
  drafters?: readonly string[];
  /** The drafter used when a request names none; default "hybrid" when offered (as the CLI), else "none". */
  defaultDrafter?: string;
  defaultMaxTokens?: number;
  /** Draft tree size per step: a number, or "auto" (default) to fit the measured verify cost. */
  budget?: number | "auto";
  /** Per-request deadline in ms (0 = none); default 10 minutes. */
  deadlineMs?: number;
  /** Idle time after which a stream gets an SSE comment ping; default 5 s. */
  pingMs?: number;
  /** Where internal errors are logged; default console.error. */
  log?: (line: string) => void;
  /** One structured entry per generation request (serve --log-requests); default none. */
  requestLog?: RequestLog;
}

const ROUTES = ["/", "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions"];

declare module "hono" {
  interface ContextVariableMap {
    /** The request's x-request-id (requestIdOf): its response header and its request-log entry. */
    requestId: string;
  }
}

/**
 * What a client may send as x-request-id to have it echoed: 1-128 printable ASCII characters (it
 * lands in logs), no comma: a request that carried the header twice reaches the app with both
 * values joined by ", ", and echoing "one, two" would trace neither.
 */
const SANE_REQUEST_ID = /^[\x20-\x2b\x2d-\x7e]{1,128}$/;

/** The client's x-request-id when it is sane, else a new one (a UUID), so every /v1 answer can be traced. */
export function requestIdOf(sent: string | undefined): string {
  return sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
}

export function createApp({ engine, options = {} }: { engine: ModelService; options?: AppOptions }): Hono {
  const drafters = [...new Set(["none", ...(options.drafters ?? [])])];
  // As `edgespec serve`: hybrid when it is offered, else plain decoding.
  const defaultDrafter = options.defaultDrafter ?? (drafters.includes("hybrid") ? "hybrid" : "none");
  if (!drafters.includes(defaultDrafter)) throw new RangeError(`default drafter "${defaultDrafter}" is not one of ${drafters.join(", ")}`);
  const log = options.log ?? ((line: string) => console.error(line));
  const cfg: GenerationConfig = {
    body: { maxBytes: options.maxBodyBytes ?? 1 << 20, timeoutMs: options.bodyTimeoutMs ?? 30_000 },
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    drafters,
    defaultDrafter,
    defaultMaxTokens: options.defaultMaxTokens ?? PARAM_DEFAULTS.maxTokens,
    budget: options.budget ?? "auto",
    deadlineMs: options.deadlineMs ?? 600_000,
    pingMs: options.pingMs ?? 5_000,
    log,
    ...(options.requestLog ? { requestLog: options.requestLog } : {}),
  };
  const app = new Hono();

  app.onError((e, c) => {
    const err = toApiError(e);
    // Only faults are logged: a library error the server maps to a status (a closed model's 503) is a known state.
    if (err.code === "internal_error" && !(e instanceof ApiError)) log(`internal error on ${c.req.method} ${c.req.path}: ${e.stack ?? e}`);
    return c.json(err.body, err.status as 400, err.headers);
  });
  app.notFound((c) => c.json(new ApiError(404, `no route for ${c.req.method} ${c.req.path}`, "not_found_error", null, "not_found").body, 404));

  // Counted after the response is decided, so the status is the one the client got.
  app.use("*", async (c, next) => {
    await next();
    engine.metrics.requests.add({ route: ROUTES.includes(c.req.path) ? c.req.path : "other", status: String(c.res.status) });
  });
  // Before the header, host and key checks: their refusals carry the id too.
  app.use("/v1/*", async (c, next) => {
    const id = requestIdOf(c.req.header("x-request-id"));
    c.set("requestId", id);
    c.header("x-request-id", id);
    await next();
    if (!c.res.headers.has("x-request-id")) c.res.headers.set("x-request-id", id);
  });
  const maxHeaderBytes = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
  app.use("*", async (c, next) => {
    const bytes = headerBytes(c.req.raw.headers);
    if (bytes > maxHeaderBytes) throw headersTooLarge(`${bytes} bytes`, maxHeaderBytes);
    await next();
  });
  if (options.corsOrigins?.length) {
    const origins = options.corsOrigins;
    // No fixed allowHeaders: the preflight's requested headers are allowed (the origin list is the
    // guard). OpenAI's browser SDK sends X-Stainless-* headers on every call, which a fixed list
    // refused, so the browser blocked every request. Retry-After is exposed for 429 back-off,
    // x-request-id for a page to report which request failed.
    app.use("*", cors({ origin: origins.includes("*") ? "*" : origins, allowMethods: ["GET", "POST", "OPTIONS"], exposeHeaders: ["Retry-After", "x-request-id"], maxAge: 600 }));
  }
  if (options.allowedHosts) app.use("*", hostCheck(options.allowedHosts));
  if (options.apiKey) app.use("*", apiKeyAuth(options.apiKey, options.openPaths ?? ["/health"]));

  app.get("/", (c) => c.html(PLAYGROUND_HTML));
  // Mounted under a prefix (`app.route("/llm", …)`), Hono matches "/" as "/llm" only; "/llm/" is
  // the same page to a person typing it (the playground finds the API from either).
  app.use("*", async (c, next) => {
    const mountRoot = c.req.routePath.slice(0, -1); // "/llm/*" -> "/llm/"
    if (c.req.method === "GET" && mountRoot !== "/" && c.req.path === mountRoot) return c.html(PLAYGROUND_HTML);
    await next();
  });
  app.get("/health", async (c) => {
    const failed = engine.failure;
    if (failed) return c.json({ status: "error", error: `the model stopped: ${failed.message}` }, 503);
    if (engine.model) return c.json({ status: "ok", model: engine.id });
    if (engine.loadError) return c.json({ status: "error", error: engine.loadError.message }, 503);
    return c.json({ status: "loading" }, 503, { "Retry-After": "1" });
  });
  // `edgespec` is our own field: the playground lists the drafters from it.
  const modelCard = () => ({ id: engine.id, object: "model", created: 0, owned_by: "edgespec", edgespec: { drafters, default_drafter: defaultDrafter } });
  app.get("/v1/models", (c) => c.json({ object: "list", data: [modelCard()] }));
  app.get("/v1/models/:id{.+}", (c) => {
    if (c.req.param("id") !== engine.id) throw new ApiError(404, `The model "${c.req.param("id")}" does not exist`, "invalid_request_error", "model", "model_not_found");
    return c.json(modelCard());
  });
  app.post("/v1/completions", (c) => handleGeneration(c, "completion", engine, cfg));
  app.post("/v1/chat/completions", (c) => handleGeneration(c, "chat", engine, cfg));
  app.get("/metrics", (c) => c.text(engine.metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));
  return app;
}
