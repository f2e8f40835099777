/**
 * A Host over fetched (or given) files, for places with no filesystem: edge functions and
 * browsers. The model is a base URL (file:, http:, https:) or a function from paths to bytes; the
 * loader sees it at MODEL_ROOT. onnxruntime-web's wasm backend, one thread (bundle builds of
 * onnxruntime cannot start workers here), and its WebGPU build where the caller provides it (the
 * browser entry does; the edge bundle does not carry it).
 */
import { EdgespecError, isPermissionRefusal } from "../../src/errors.ts";
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

/**
 * A model file (or onnxruntime's .wasm) that could not be read, for a reason other than not being
 * there: the network, an HTTP error, a runtime that cannot fetch file: URLs. The message names the
 * URL and the underlying error; `retryable` says whether trying again later may succeed.
 */
export class FetchError extends Error {
  override readonly name = "FetchError";
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What was read: the bytes, or why there is no such file ("HTTP 404", "no such file"). */
type Fetched = { bytes: Uint8Array } | { absent: string };

function detail(e: unknown): string {
  const err = e as { message?: unknown; cause?: { message?: unknown } } | undefined;
  const msg = typeof err?.message === "string" && err.message ? err.message : String(e);
  const cause = err?.cause?.message;
  return typeof cause === "string" && cause && !msg.includes(cause) ? `${msg}: ${cause}` : msg;
}

/** A file: URL whose file is not there: Bun rejects with ENOENT, Deno with "(os error 2)". */
function missingFile(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || /\(os error (2|3|20)\)/.test(detail(e));
}

/**
 * A file by URL. Only a real "not there" is absent: HTTP 404/410, a missing file: file, and HTTP
 * 403 (what S3 answers for a missing key when the reader may not list the bucket; the loader asks
 * for optional files, and refusing those would refuse the model). Anything else throws, naming the
 * URL and the error: a permission refusal as permission_denied, the rest as a FetchError.
 */
async function fetchBytes(url: URL): Promise<Fetched> {
  try {
    const res = await fetch(url);
    if (res.status === 404 || res.status === 410 || res.status === 403) {
      await res.body?.cancel();
      return { absent: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}` };
    }
    if (!res.ok) {
      await res.body?.cancel();
      // 408, 429 and 5xx are passing; another 4xx (401: a key needed) wants the deployment fixed, but may be fixed without a restart.
      throw new FetchError(`cannot fetch ${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`, true);
    }
    return { bytes: new Uint8Array(await res.arrayBuffer()) }; // Bun's file: fetch rejects here for a missing file
  } catch (e) {
    if (e instanceof FetchError) throw e;
    if (url.protocol === "file:" && missingFile(e)) return { absent: "no such file" };
    if (isPermissionRefusal(e)) throw new EdgespecError("permission_denied", `may not read ${url}: ${detail(e)}`, { cause: e });
    if (url.protocol === "file:" && /not implemented/i.test(detail(e))) {
      throw new FetchError(`cannot fetch ${url}: this runtime's fetch does not read file: URLs (${detail(e)}); serve the model over http(s), or give it as a function from paths to bytes`, false, { cause: e });
    }
    throw new FetchError(`cannot fetch ${url}: ${detail(e)}`, true, { cause: e });
  }
}

/** Lets the event loop in (timers, waiting HTTP requests) between the load's steps: a macrotask, not a microtask. */
const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function reader(source: ModelSource): (path: string) => Promise<Fetched> {
  if (typeof source === "function") return async (p) => ((b) => (b === undefined ? { absent: "not given" } : { bytes: new Uint8Array(b) }))(await source(p));
  const base = baseUrl(source);
  return (p) => fetchBytes(new URL(p, base));
}

/** The model folder's URL, ending in "/"; a URL that is not absolute throws (TypeError). */
export function baseUrl(source: URL | string): URL {
  const s = String(source);
  return new URL(s.endsWith("/") ? s : `${s}/`);
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
    const got = await fetchBytes(new URL(String(source)));
    if ("absent" in got) throw new FetchError(`cannot fetch onnxruntime's wasm from ${source}: ${got.absent}`, got.absent !== "no such file");
    return got.bytes;
  }
  return source instanceof Uint8Array ? source : new Uint8Array(source);
}

/** The loader's view of the files, and a way back from its paths to where they came from. */
export interface FetchHost extends Host {
  /**
   * `message` (a load error's) with the loader's paths (/model/config.json) as the URLs they
   * stand for, with the HTTP status a missing one was answered with.
   */
  explain(message: string): string;
}

/** A Host over fetched (or given) files, cached: the loader asks whether a file exists, then reads it. */
export function fetchHost(source: ModelSource, ortWasm: WasmSource, options: FetchHostOptions = {}): FetchHost {
  const { runtime = "edge", webgpu } = options;
  let gpu: Promise<WebGpuAdapter | undefined> | undefined;
  const read = reader(source);
  const base = typeof source === "function" ? undefined : baseUrl(source);
  const cache = new Map<string, Promise<Fetched>>();
  /** The HTTP status each missing file was answered with. */
  const absent = new Map<string, string>();
  const rel = (path: string) => (path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : undefined);
  const get = async (path: string): Promise<Uint8Array | undefined> => {
    const r = rel(path);
    if (r === undefined) return undefined;
    let p = cache.get(r);
    if (!p) {
      p = read(r);
      cache.set(r, p);
    }
    const got = await p;
    await turn(); // requests waiting on this thread are answered between the load's files
    if ("bytes" in got) return got.bytes;
    if (got.absent.startsWith("HTTP")) absent.set(r, got.absent);
    return undefined;
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
      await turn();
      return ort;
    },
    webGpuAdapter() {
      if (!webgpu) return Promise.resolve(undefined);
      gpu ??= navigatorGpuAdapter();
      return gpu;
    },
    defaultModelDir: () => ROOT,
    hardwareConcurrency: () => 1,
    explain(message) {
      if (!base) return message;
      // A path where a message names one: at its start, or after a space, quote or parenthesis.
      return message.replace(/(^|[\s"'(])\/model(?:\/([^\s"',;)]*))?/g, (_, lead: string, r: string | undefined) => {
        const why = r === undefined ? undefined : absent.get(r);
        return `${lead}${r === undefined ? base.href : new URL(r, base).href}${why ? ` (${why})` : ""}`;
      });
    },
  };
}
