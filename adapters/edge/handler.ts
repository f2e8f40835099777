/**
 * The edge adapter: a standard `fetch(request) -> Response` handler for hosts with no filesystem
 * (Deno Deploy, workers, `deno serve`). The host gives the model as a base URL (file:, http:,
 * https:) or as bytes by path, and onnxruntime's .wasm as bytes or a URL. The model loads on the
 * first request (module start stays fast); /health says 503 until it is ready.
 * Only the wasm backend, one thread: bundle builds of onnxruntime cannot start workers here.
 */
import { createApp, type AppOptions } from "../../src/server/app.ts";
import { ModelService } from "../../src/server/service.ts";
import { type Bytes, fetchHost, MODEL_ROOT, type ModelSource, type WasmSource } from "./fetch-host.ts";
import { DEFAULT_DTYPE } from "../../src/model/dtype.ts";
import { DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { setUp } from "../../src/setup.ts";

export type { Bytes, ModelSource };

export interface EdgeOptions {
  model: ModelSource;
  /** onnxruntime-web's ort-wasm-simd-threaded.wasm. */
  ortWasm: WasmSource;
  /** Drafter for requests that name none; default "hybrid" (TypeScript kernels here). */
  drafter?: string;
  /** Model name in the API; default "edgespec-tiny". */
  modelId?: string;
  dtype?: string;
  maxQueue?: number;
  app?: AppOptions;
}

/** Where a platform keeps configuration: Workers pass it as fetch's second argument, Deno and Node in their env. */
export type EdgeEnv = Record<string, unknown>;

function fromEnv(env: EdgeEnv | undefined): (name: string) => string | undefined {
  const g = globalThis as { Deno?: { env?: { get(k: string): string | undefined } }; process?: { env?: Record<string, string | undefined> } };
  return (name) => {
    const v = env?.[name];
    if (typeof v === "string") return v;
    try {
      return g.Deno?.env?.get(name) ?? g.process?.env?.[name];
    } catch {
      return undefined; // Deno without --allow-env
    }
  };
}

const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter(Boolean);

/**
 * Options the deployment's environment gives, over the bundle's own: EDGESPEC_API_KEY,
 * EDGESPEC_CORS_ORIGINS and EDGESPEC_ALLOWED_HOSTS (comma-separated), EDGESPEC_MODEL_URL (a
 * hub-layout folder to load instead of the bundled model), EDGESPEC_DRAFTER.
 */
export function edgeOptionsFromEnv(opts: EdgeOptions, env?: EdgeEnv): EdgeOptions {
  const get = fromEnv(env);
  const apiKey = get("EDGESPEC_API_KEY");
  const corsOrigins = list(get("EDGESPEC_CORS_ORIGINS"));
  const allowedHosts = list(get("EDGESPEC_ALLOWED_HOSTS"));
  const modelUrl = get("EDGESPEC_MODEL_URL");
  const drafter = get("EDGESPEC_DRAFTER");
  return {
    ...opts,
    ...(modelUrl ? { model: modelUrl } : {}),
    ...(drafter ? { drafter } : {}),
    app: { ...opts.app, ...(apiKey ? { apiKey } : {}), ...(corsOrigins?.length ? { corsOrigins } : {}), ...(allowedHosts?.length ? { allowedHosts } : {}) },
  };
}

/**
 * `fetch(request, env?)`: the model loads on the first request, configured by `opts` and then by
 * the environment (edgeOptionsFromEnv) as that first request finds it.
 */
export function createEdgeHandler(opts: EdgeOptions): { fetch(req: Request, env?: EdgeEnv): Promise<Response> } {
  let app: ReturnType<typeof createApp> | undefined;
  const start = (env?: EdgeEnv) => {
    const o = edgeOptionsFromEnv(opts, env);
    const host = fetchHost(o.model, o.ortWasm);
    const drafter = o.drafter ?? "hybrid";
    const loading = setUp(host, { model: MODEL_ROOT, dtype: o.dtype ?? DEFAULT_DTYPE, device: "wasm", threads: 1, drafter }).then((s) => s.runner({ prepare: true }));
    const engine = new ModelService(loading, { maxQueue: o.maxQueue, modelId: o.modelId ?? "edgespec-tiny" });
    return createApp({ engine, options: { drafters: DRAFTER_NAMES, defaultDrafter: drafter, ...o.app } });
  };
  return {
    // Deno's serve passes connection info (no EDGESPEC_ keys) as the second argument: harmless.
    fetch: async (req, env) => (app ??= start(env)).fetch(req),
  };
}
