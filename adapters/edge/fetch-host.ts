/**
 * A Host over fetched (or given) files, for places with no filesystem: edge functions and
 * browsers. The model is a base URL (file:, http:, https:) or a function from paths to bytes; the
 * loader sees it at MODEL_ROOT. onnxruntime-web's wasm backend, one thread (bundle builds of
 * onnxruntime cannot start workers here), and its WebGPU build where the caller provides it (the
 * browser entry does; the edge bundle does not carry it).
 */
import type { Device, Host, OrtModule, WebGpuAdapter } from "../../src/host.ts";
import { navigatorGpuAdapter } from "../web/gpu.ts";

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

export interface FetchHostOptions {
  /** The runtime's name in logs and stats; default "edge". */
  runtime?: string;
  /**
   * onnxruntime-web's WebGPU build and its .wasm (ort-wasm-simd-threaded.asyncify.wasm): with them,
   * the host offers the adapter `navigator.gpu` gives, and `device: "webgpu"` (or `auto` on a
   * hardware adapter) runs on it.
   */
  webgpu?: { ort: () => Promise<unknown>; wasm: WasmSource };
}

async function wasmBytes(source: WasmSource): Promise<Uint8Array> {
  if (typeof source === "function") return new Uint8Array(await source());
  if (source instanceof URL || typeof source === "string") {
    const b = await fetchBytes(new URL(String(source)));
    if (!b) throw new Error(`cannot fetch onnxruntime's wasm from ${source}`);
    return b;
  }
  return source instanceof Uint8Array ? source : new Uint8Array(source);
}

/** A Host over fetched (or given) files, cached: the loader asks whether a file exists, then reads it. */
export function fetchHost(source: ModelSource, ortWasm: WasmSource, options: FetchHostOptions = {}): Host {
  const { runtime = "edge", webgpu } = options;
  let gpu: Promise<WebGpuAdapter | undefined> | undefined;
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
    async loadOrt(device: Device): Promise<OrtModule> {
      const gpuBuild = device === "webgpu" && webgpu;
      const ort = (await (gpuBuild ? webgpu.ort() : import("onnxruntime-web/wasm"))) as OrtModule;
      // Set once, before the first session starts the runtime (later sets would be ignored); the
      // WASM thread count comes with the load (one thread).
      if (!ort.env.wasm.wasmBinary) ort.env.wasm.wasmBinary = await wasmBytes(gpuBuild ? webgpu.wasm : ortWasm);
      if (gpuBuild) ort.env.wasm.numThreads ||= 1;
      return ort;
    },
    webGpuAdapter() {
      if (!webgpu) return Promise.resolve(undefined);
      gpu ??= navigatorGpuAdapter();
      return gpu;
    },
    defaultModelDir: () => ROOT,
    hardwareConcurrency: () => 1,
  };
}

