/**
 * What `src/` needs from the runtime it runs on. Each adapter in `adapters/<runtime>/` implements
 * this once; nothing under `src/` imports `fs`, `Deno` or `Bun` directly, so the same code runs
 * on Bun, Deno, Node and edge hosts (which can serve files from memory or fetch).
 */
import type * as Ort from "onnxruntime-web";

export type OrtModule = typeof Ort;
/** `cpu`: onnxruntime-node's native kernels (Bun, Deno, Node where installed); the others are onnxruntime-web. */
export type Device = "wasm" | "webgpu" | "cpu";

export interface WebGpuAdapter {
  /** What the adapter says it is (GPUAdapterInfo description, else device/vendor). */
  description: string;
  /** A software fallback (llvmpipe, SwiftShader, WARP): `auto` does not choose it. */
  fallback: boolean;
  /** Whether it offers the "shader-f16" feature (float16 graphs need it); undefined = not known. */
  float16?: boolean;
}

export interface Host {
  /** Short runtime name for logs and stats: "bun", "deno", "node", "edge". */
  readonly runtime: string;
  /** Whole file as bytes; rejects with an error whose message names the path if it is missing. */
  readFile(path: string): Promise<Uint8Array>;
  /** True if a file (not a directory) exists at `path`. */
  isFile(path: string): Promise<boolean>;
  /** A file's size in bytes, where the host can tell without reading it (load progress totals). */
  fileSize?(path: string): Promise<number | undefined>;
  /** True if a directory exists at `path`. */
  isDirectory(path: string): Promise<boolean>;
  /** Join path segments the way this host's paths work. */
  join(...parts: string[]): string;
  /** onnxruntime for the device: onnxruntime-web (wasm, webgpu) or onnxruntime-node (cpu). */
  loadOrt(device: Device): Promise<OrtModule>;
  /**
   * onnxruntime-web's WebAssembly runtime instance (its Emscripten module) once `ort` has started
   * it, where this host can reach it (adapters/ort-wasm): WASM sessions then run through its C API
   * (src/model/wasm-session-runner.ts). Undefined, or absent: through `session.run`.
   */
  ortWasmInstance?(ort: OrtModule): Promise<unknown>;
  /** The WebGPU adapter this host would use, if it has one. */
  webGpuAdapter(): Promise<WebGpuAdapter | undefined>;
  /** Where the embedded default model lives (a directory `readFile` understands). */
  defaultModelDir(): string;
  /** Cores available to wasm threads. */
  hardwareConcurrency(): number;
  /** The drafter kernels' WebAssembly bytes (wasm/pkg/edgespec_kernels.wasm); absent = TS kernels. */
  drafterKernels?(): Promise<Uint8Array>;
  /** Every file below `dir`, recursively, sorted (for corpus folders). */
  listFiles?(dir: string): Promise<string[]>;
  /** Write a whole file (saved drafter state); replaces it atomically where the host can. */
  writeFile?(path: string, bytes: Uint8Array): Promise<void>;
}
