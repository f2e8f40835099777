/**
 * A Host over fetched (or given) files, for places with no filesystem: edge functions and
 * browsers. The model is a base URL (file:, http:, https:) or a function from paths to bytes; the
 * loader sees it at MODEL_ROOT. Only onnxruntime-web's wasm backend, one thread: bundle builds of
 * onnxruntime cannot start workers here.
 */
import type { Host, OrtModule } from "../../src/host.ts";

export type Bytes = Uint8Array | ArrayBuffer;
/** Model files by path inside the model directory ("config.json", "onnx/model_quantized.onnx"). */
export type ModelSource = URL | string | ((path: string) => Promise<Bytes | undefined>);

/** onnxruntime-web's ort-wasm-simd-threaded.wasm: its bytes, a URL, or a function giving the bytes. */
export type WasmSource = URL | string | Bytes | (() => Promise<Bytes>);

/** Where the model appears to the loader. */
export const MODEL_ROOT = "/model";
const ROOT = MODEL_ROOT;

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
export function fetchHost(source: ModelSource, ortWasm: WasmSource, runtime = "edge"): Host {
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
    runtime,
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

