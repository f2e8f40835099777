/**
 * The edge adapter: a standard `fetch(request) -> Response` handler for hosts with no filesystem
 * (Deno Deploy, workers, `deno serve`). The host gives the model as a base URL (file:, http:,
 * https:) or as bytes by path, and onnxruntime's .wasm as bytes or a URL. The model loads on the
 * first request (module start stays fast); /health says 503 until it is ready.
 * Only the wasm backend, one thread: bundle builds of onnxruntime cannot start workers here.
 */
import { createApp, type AppOptions } from "../../src/server/app.ts";
import { ModelService } from "../../src/server/service.ts";
import { sharedDrafters } from "../../src/server/shared-drafters.ts";
import type { Host, OrtModule } from "../../src/host.ts";
import { DEFAULT_DTYPE } from "../../src/model/dtype.ts";
import { loadModel } from "../../src/model/load.ts";

export type Bytes = Uint8Array | ArrayBuffer;
/** Model files by path inside the model directory ("config.json", "onnx/model_quantized.onnx"). */
export type ModelSource = URL | string | ((path: string) => Promise<Bytes | undefined>);

export interface EdgeOptions {
  model: ModelSource;
  /** onnxruntime-web's ort-wasm-simd-threaded.wasm. */
  ortWasm: URL | string | Bytes | (() => Promise<Bytes>);
  /** Drafter for requests that name none; default "hybrid" (TypeScript kernels here). */
  drafter?: string;
  /** Model name in the API; default "edgespec-tiny". */
  modelId?: string;
  dtype?: string;
  maxQueue?: number;
  app?: AppOptions;
}

const ROOT = "/model";

async function fetchBytes(url: URL): Promise<Uint8Array | undefined> {
  try {
    const res = await fetch(url);
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return new Uint8Array(await res.arrayBuffer());
  } catch {
    return undefined; // file: URLs reject for missing files
  }
}

function reader(source: ModelSource): (path: string) => Promise<Uint8Array | undefined> {
  if (typeof source === "function") return async (p) => ((b) => (b === undefined ? undefined : new Uint8Array(b)))(await source(p));
  const base = new URL(String(source).endsWith("/") ? String(source) : `${source}/`);
  return (p) => fetchBytes(new URL(p, base));
}

/** A Host over fetched (or given) files, cached: the loader asks whether a file exists, then reads it. */
function edgeHost(source: ModelSource, ortWasm: EdgeOptions["ortWasm"]): Host {
  const read = reader(source);
  const cache = new Map<string, Promise<Uint8Array | undefined>>();
  const rel = (path: string) => (path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : undefined);
  const get = (path: string) => {
    const r = rel(path);
    if (r === undefined) return Promise.resolve(undefined);
    let p = cache.get(r);
    if (!p) {
      p = read(r);
      cache.set(r, p);
    }
    return p;
  };
  return {
    runtime: "edge",
    async readFile(path) {
      const bytes = await get(path);
      if (!bytes) throw new Error(`file not found: ${path}`);
      cache.delete(rel(path)!); // read once: do not keep a second copy of the weights
      return bytes;
    },
    isFile: async (path) => (await get(path)) !== undefined,
    isDirectory: async (path) => path === ROOT || path === `${ROOT}/onnx`,
    join: (...parts) => parts.join("/").replace(/\/+/g, "/"),
    async loadOrt(): Promise<OrtModule> {
      const ort = (await import("onnxruntime-web/wasm")) as unknown as OrtModule;
      let wasm: Bytes;
      if (typeof ortWasm === "function") wasm = await ortWasm();
      else if (ortWasm instanceof URL || typeof ortWasm === "string") {
        const b = await fetchBytes(new URL(String(ortWasm)));
        if (!b) throw new Error(`cannot fetch onnxruntime's wasm from ${ortWasm}`);
        wasm = b;
      } else wasm = ortWasm;
      ort.env.wasm.wasmBinary = wasm instanceof Uint8Array ? wasm : new Uint8Array(wasm);
      ort.env.wasm.numThreads = 1;
      return ort;
    },
    webGpuAdapter: async () => undefined,
    defaultModelDir: () => ROOT,
    hardwareConcurrency: () => 1,
  };
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
    const host = edgeHost(o.model, o.ortWasm);
    const drafters = sharedDrafters();
    const loading = loadModel(host, ROOT, { dtype: o.dtype ?? DEFAULT_DTYPE, device: "wasm", threads: 1 }).then((m) => drafters.runner(m));
    const engine = new ModelService(loading, { maxQueue: o.maxQueue, modelId: o.modelId ?? "edgespec-tiny" });
    return createApp({ engine, options: { drafters: drafters.names, defaultDrafter: o.drafter ?? "hybrid", ...o.app } });
  };
  return {
    // Deno's serve passes connection info (no EDGESPEC_ keys) as the second argument: harmless.
    fetch: async (req, env) => (app ??= start(env)).fetch(req),
  };
}
