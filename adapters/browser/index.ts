/**
 * The library in a browser (bundled by tools/build-browser.ts): models are fetched by URL,
 * onnxruntime-web runs on WebGPU where the browser has a hardware adapter (or when asked for with
 * `device: "webgpu"`), else on its wasm backend (one thread: pages without cross-origin isolation
 * have no SharedArrayBuffer); drafters on their TypeScript kernels.
 *
 *   import { open } from "./edgespec-browser.mjs";
 *   const lm = await open({ model: new URL("./edgespec-tiny/", location.href) });
 *   for await (const t of lm.stream("def add(a, b):", { maxTokens: 32 })) out.textContent += t;
 */
import { type LM, type OpenOptions, openWith } from "../../src/library.ts";
import { fetchHost, type ModelSource, type WasmSource } from "../edge/fetch-host.ts";

export * from "../../src/public.ts";

export interface BrowserOpenOptions extends Omit<OpenOptions, "model" | "device" | "threads"> {
  /** The model folder (hub layout) as a URL, or a function from its file paths to bytes. */
  model: ModelSource;
  /** "auto" (default: WebGPU on a hardware adapter, else wasm), "webgpu" (a software adapter too), or "wasm". */
  device?: "auto" | "webgpu" | "wasm";
  /** onnxruntime-web's ort-wasm-simd-threaded.wasm; default: beside this bundle. */
  ortWasm?: WasmSource;
  /** Its WebGPU build's ort-wasm-simd-threaded.asyncify.wasm; default: beside this bundle (fetched only for WebGPU). */
  ortWebGpuWasm?: WasmSource;
}

export function open(options: BrowserOpenOptions): Promise<LM> {
  const { model, ortWasm, ortWebGpuWasm, device = "auto", ...rest } = options;
  const host = fetchHost(model, ortWasm ?? new URL("./ort-wasm-simd-threaded.wasm", import.meta.url), {
    runtime: "browser",
    webgpu: { ort: () => import("onnxruntime-web/webgpu"), wasm: ortWebGpuWasm ?? new URL("./ort-wasm-simd-threaded.asyncify.wasm", import.meta.url) },
  });
  return openWith(host, { ...rest, device, threads: 1 });
}
