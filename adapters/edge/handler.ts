/**
 * The edge adapter: a standard `fetch(request) -> Response` handler for hosts with no filesystem
 * (Deno Deploy, workers, `deno serve`). The host gives the model as a base URL (file:, http:,
 * https:) or as bytes by path, and onnxruntime's .wasm as bytes or a URL. The model loads in the
 * background from the first request on (module start stays fast); until it is ready /health says
 * 503 and generations get 503 model_not_ready with Retry-After. A failed load is retried on a
 * later request (backing off from 2 s to a minute) unless it cannot heal (a bad setting, a
 * permission refused, a corrupt model). A bad configuration (a setting out of range, an
 * environment the runtime may not read) is answered on every request as a 500 invalid_config.
 * Only the wasm backend, one thread: bundle builds of onnxruntime cannot start workers here, so
 * the load's synchronous steps (graph rewrites, onnxruntime building the session) hold this
 * thread, and the requests waiting on it, for seconds (README, "Edge", has the numbers).
 */
import { createApp, type AppOptions, requestIdOf } from "../../src/server/app.ts";
import { ApiError } from "../../src/server/api-error.ts";
import { ModelService } from "../../src/server/service.ts";
import { type Bytes, baseUrl, FetchError, fetchHost, MODEL_ROOT, type ModelSource, type WasmSource } from "./fetch-host.ts";
import { DEFAULT_DTYPE, type Dtype } from "../../src/model/dtype.ts";
import { DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { EdgespecError, isEdgespecError } from "../../src/errors.ts";
import { setUp } from "../../src/setup.ts";

export type { Bytes, ModelSource };

export interface EdgeOptions {
  model: ModelSource;
  /** onnxruntime-web's ort-wasm-simd-threaded.wasm. */
  ortWasm: WasmSource;
  /** Drafter for requests that name none; default "hybrid" (TypeScript kernels here). */
  drafter?: string;
  /** Model name in the API; default: the model URL's last path segment (edgespecModelId). */
  modelId?: string;
  /** Which ONNX file of the model (fp32 by default); checked at load too. */
  dtype?: Dtype;
  maxQueue?: number;
  app?: AppOptions;
  /** Waits before a failed load is tried again, doubling from `firstMs` (2 s) up to `maxMs` (60 s). */
  retry?: { firstMs?: number; maxMs?: number };
}

/** Where a platform keeps configuration: Workers pass it as fetch's second argument, Deno and Node in their env. */
export type EdgeEnv = Record<string, unknown>;

function refusal(name: string, e: unknown): EdgespecError {
  const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new EdgespecError(
    "permission_denied",
    `cannot read ${name} from the environment (${why}): grant env access (deno serve --allow-env, or --allow-env=EDGESPEC_*), or pass the EDGESPEC_* settings ` +
      "as the fetch handler's env argument; nothing is served until then (an API key set there would be ignored)",
    { cause: e },
  );
}

/**
 * Where settings are read: an `env` argument holding any EDGESPEC_ key is the configuration (a
 * Workers binding, or one a wrapper passes), read alone; otherwise the process environment. An
 * environment the runtime may not read (Deno without --allow-env) throws permission_denied: taking
 * it as empty would drop an API key the operator set and answer everyone.
 */
function fromEnv(env: EdgeEnv | undefined): (name: string) => string | undefined {
  if (env && Object.keys(env).some((k) => k.startsWith("EDGESPEC_"))) {
    return (name) => (typeof env[name] === "string" ? (env[name] as string) : undefined);
  }
  const g = globalThis as { Deno?: { env?: { get(k: string): string | undefined } }; process?: { env?: Record<string, string | undefined> } };
  return (name) => {
    try {
      return g.Deno?.env?.get(name) ?? g.process?.env?.[name];
    } catch (e) {
      throw refusal(name, e);
    }
  };
}

const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter(Boolean);

/**
 * Options the deployment's environment gives, over the bundle's own: EDGESPEC_API_KEY,
 * EDGESPEC_CORS_ORIGINS and EDGESPEC_ALLOWED_HOSTS (comma-separated), EDGESPEC_MODEL_URL (a
 * hub-layout folder to load instead of the bundled model), EDGESPEC_DRAFTER. Throws an
 * EdgespecError naming the setting for a value that cannot work (an unknown drafter, a model URL
 * that is not absolute, an empty API key) and for an environment the runtime may not read.
 */
export function edgeOptionsFromEnv(opts: EdgeOptions, env?: EdgeEnv): EdgeOptions {
  const get = fromEnv(env);
  const apiKey = get("EDGESPEC_API_KEY");
  const corsOrigins = list(get("EDGESPEC_CORS_ORIGINS"));
  const allowedHosts = list(get("EDGESPEC_ALLOWED_HOSTS"));
  const modelUrl = get("EDGESPEC_MODEL_URL");
  const drafter = get("EDGESPEC_DRAFTER");
  if (apiKey === "") throw new EdgespecError("invalid_argument", "EDGESPEC_API_KEY is set but empty; set a key, or unset it to serve without one");
  const o: EdgeOptions = {
    ...opts,
    ...(modelUrl ? { model: modelUrl } : {}),
    ...(drafter ? { drafter } : {}),
    app: { ...opts.app, ...(apiKey ? { apiKey } : {}), ...(corsOrigins?.length ? { corsOrigins } : {}), ...(allowedHosts?.length ? { allowedHosts } : {}) },
  };
  if (o.drafter !== undefined && !(DRAFTER_NAMES as readonly string[]).includes(o.drafter)) {
    throw new EdgespecError("invalid_argument", `${drafter ? "EDGESPEC_DRAFTER" : "the drafter option"} "${o.drafter}" is not a drafter`, { validOptions: DRAFTER_NAMES });
  }
  if (typeof o.model !== "function") {
    const what = modelUrl ? "EDGESPEC_MODEL_URL" : "the model option";
    let url: URL;
    try {
      url = baseUrl(o.model);
    } catch {
      throw new EdgespecError("invalid_argument", `${what} "${o.model}" is not an absolute URL; give the model folder as https://…/, http://…/ or file:///…/`);
    }
    if (!["http:", "https:", "file:"].includes(url.protocol)) {
      throw new EdgespecError("invalid_argument", `${what} "${o.model}" is a ${url.protocol} URL; give the model folder as https://…/, http://…/ or file:///…/`);
    }
  }
  return o;
}

/**
 * The model's name in the API, as `edgespec serve` names it: the model folder's last path segment
 * (`…/edgespec-small/` → "edgespec-small"; a Hugging Face `…/org/name/resolve/main/` → "name"),
 * "edgespec" where there is none (a model given as a function).
 */
export function edgespecModelId(model: ModelSource): string {
  if (typeof model === "function") return "edgespec";
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s; // a stray "%": the segment as written
    }
  };
  const segments = baseUrl(model).pathname.split("/").filter(Boolean).map(decode);
  const hub = segments.lastIndexOf("resolve");
  const name = hub > 0 && hub >= segments.length - 2 ? segments[hub - 1] : segments.at(-1);
  return name || "edgespec";
}

/** Load failures that trying again cannot mend: the deployment has to change. */
const PERMANENT = new Set(["permission_denied", "invalid_argument", "invalid_dtype", "invalid_device", "device_unavailable", "model_invalid"]);
const retryable = (e: unknown) => (e instanceof FetchError ? e.retryable : !(isEdgespecError(e) && PERMANENT.has(e.code)));

type Served = ReturnType<typeof createApp>;

/** The answer to every request while the configuration is wrong: /health as a failed load's, the rest a 500 invalid_config. */
function configFailure(req: Request, message: string): Response {
  const path = new URL(req.url).pathname;
  if (path === "/health") return Response.json({ status: "error", error: message }, { status: 503 });
  // Answered without the app, so without its middleware: the /v1 request id as the app gives it.
  const headers = path.startsWith("/v1/") ? { "x-request-id": requestIdOf(req.headers.get("x-request-id") ?? undefined) } : undefined;
  return Response.json(new ApiError(500, message, "server_error", null, "invalid_config").body, { status: 500, ...(headers ? { headers } : {}) });
}

/**
 * `fetch(request, env?)`: the first request reads the configuration (`opts`, then the environment
 * by edgeOptionsFromEnv) and starts the model loading in the background; every request is answered
 * at once meanwhile (503 until the model is ready).
 */
export function createEdgeHandler(opts: EdgeOptions): { fetch(req: Request, env?: EdgeEnv): Promise<Response> } {
  const firstMs = opts.retry?.firstMs ?? 2_000;
  const maxMs = opts.retry?.maxMs ?? 60_000;
  const log = opts.app?.log ?? ((line: string) => console.error(line));
  type Config = { o: EdgeOptions; modelId: string } | { error: string };
  let config: Config | undefined;
  let app: Served | undefined;
  /** Set while the last load has failed in a way that may mend: when the next may start. */
  let retryAt: number | undefined;
  let failures = 0;

  const configure = (env?: EdgeEnv): Config => {
    try {
      const o = edgeOptionsFromEnv(opts, env);
      return { o, modelId: o.modelId ?? edgespecModelId(o.model) };
    } catch (e) {
      return misconfigured(e);
    }
  };
  const misconfigured = (e: unknown): { error: string } => {
    const message = `edge configuration: ${e instanceof Error ? e.message : String(e)}`;
    log(`edgespec: ${message}; every request is refused until it is fixed`);
    return { error: message };
  };

  const start = ({ o, modelId }: { o: EdgeOptions; modelId: string }): Served => {
    const host = fetchHost(o.model, o.ortWasm);
    const drafter = o.drafter ?? "hybrid";
    retryAt = undefined;
    // The load starts once the app is made: options createApp or the service refuse start nothing.
    let go!: () => void;
    const made = new Promise<void>((resolve) => (go = resolve));
    const loading = made
      .then(() => setUp(host, { model: MODEL_ROOT, dtype: o.dtype ?? DEFAULT_DTYPE, device: "wasm", threads: 1, drafter }))
      .then((s) => s.runner({ prepare: true }))
      .then(
        (runner) => {
          failures = 0;
          return runner;
        },
        (e: unknown) => {
          // The loader's paths (/model/config.json) as the URLs they stand for.
          const message = host.explain(e instanceof Error ? e.message : String(e));
          const again = retryable(e);
          const waitMs = Math.min(maxMs, firstMs * 2 ** failures++);
          if (again) retryAt = Date.now() + waitMs;
          log(`edgespec: the model failed to load: ${message}${again ? `; tried again on a request after ${waitMs / 1000} s` : " (not tried again: fix the deployment)"}`);
          throw isEdgespecError(e) ? new EdgespecError(e.code, message, { cause: e }) : new Error(message, { cause: e });
        },
      );
    const engine = new ModelService(loading, { maxQueue: o.maxQueue, modelId });
    const served = createApp({ engine, options: { drafters: DRAFTER_NAMES, defaultDrafter: drafter, ...o.app } });
    go();
    return served;
  };

  return {
    // Deno's serve passes connection info (no EDGESPEC_ keys) as the second argument: the process env is read then.
    fetch: async (req, env) => {
      const c = (config ??= configure(env));
      if ("error" in c) return configFailure(req, c.error);
      if (!app || (retryAt !== undefined && Date.now() >= retryAt)) {
        try {
          app = start(c);
        } catch (e) {
          const bad = misconfigured(e); // an option createApp or the service refuses (app.defaultDrafter, maxQueue)
          config = bad;
          return configFailure(req, bad.error);
        }
      }
      const res = await app.fetch(req);
      if (retryAt !== undefined && res.status === 503 && !res.headers.has("Retry-After")) {
        const headers = new Headers(res.headers);
        headers.set("Retry-After", String(Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))));
        return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
      }
      return res;
    },
  };
}
