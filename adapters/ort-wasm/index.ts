/**
 * Where a runtime with files on disk (Bun, Deno, Node) lets onnxruntime-web start its WebAssembly
 * runtime through ./capture.mjs, so that the loader can run WASM sessions through the runtime's C
 * API (src/model/wasm-session-runner.ts: less time per forward). Only where nothing else chose the
 * runtime's files (the single binary points them into itself): there, and on any host without
 * this, sessions run through `session.run`.
 */
import type { OrtModule } from "../../src/host.ts";

/**
 * Points `ort`'s WASM runtime at the capturing factory `capture` (the file: URL of ./capture.mjs in
 * the package, which the host finds from its root, since a bundle of this file lives elsewhere;
 * undefined where the host did not find it), before the runtime starts. False where nothing
 * changed: no capture file, the runtime's files chosen already, or not resolvable here.
 */
export function captureWasmRuntime(ort: OrtModule, resolve: (specifier: string) => string, capture: string | undefined): boolean {
  const wasm = ort.env.wasm;
  if (capture === undefined || wasm.wasmPaths !== undefined || wasm.wasmBinary !== undefined) return false;
  let file: string;
  try {
    // Where the package cannot be resolved (a compiled binary's own filesystem), nothing changes.
    file = resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
  } catch {
    return false;
  }
  wasm.wasmPaths = { mjs: capture, wasm: file };
  return true;
}

/**
 * The started runtime's instance, where onnxruntime-web started it through the capturing factory
 * (importing that file again gives the same module, and so its instance), else undefined.
 */
export async function wasmRuntimeInstance(ort: OrtModule): Promise<unknown> {
  const paths = ort.env.wasm.wasmPaths;
  const mjs = typeof paths === "object" && paths !== null ? String((paths as { mjs?: unknown }).mjs) : "";
  if (!mjs.endsWith("/ort-wasm/capture.mjs")) return undefined;
  try {
    const capture = (await import(mjs)) as { capturedInstance(): unknown };
    return capture.capturedInstance();
  } catch {
    return undefined;
  }
}
