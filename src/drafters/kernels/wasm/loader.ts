/**
 * The one loader for the drafter kernels' WebAssembly (wasm/pkg/edgespec_kernels.wasm, built from
 * the Rust crate in wasm/). Runtime-free: give it the bytes (adapters read the file; bundles embed
 * it), a compiled module, a Response, or a URL; with nothing it fetches the file next to the
 * package through `new URL(..., import.meta.url)` (works on Bun and Deno and in browsers; Node's
 * fetch has no file: URLs, so Node adapters pass bytes). Whatever fails, the error is a typed
 * `not_ready` naming what to do.
 */
import { EdgespecError } from "../../../errors.ts";

/** Where the binary sits relative to the package root (for adapters that read it themselves). */
export const KERNELS_WASM_PATH = "wasm/pkg/edgespec_kernels.wasm";

type Handle = number;
type Ptr = number;

/** The crate's `extern "C"` surface (wasm/src/ffi.rs). Handles and pointers are wasm32 addresses. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  tree_new(): Handle;
  tree_free(t: Handle): void;
  tree_clear(t: Handle, capacity: number): void;
  tree_add(t: Handle, parent: number, token: number, source: number): number;
  tree_size(t: Handle): number;
  tree_finish(t: Handle): number;
  tree_out(t: Handle): Ptr;
  tree_memory(t: Handle): number;
  sam_new(maxTokens: number): Handle;
  sam_free(a: Handle): void;
  sam_reset(a: Handle): void;
  sam_input(a: Handle, n: number): Ptr;
  sam_append(a: Handle, n: number): void;
  sam_extend(a: Handle, n: number): void;
  sam_advance(a: Handle, n: number): void;
  sam_set_cursor(a: Handle, state: number, len: number): void;
  sam_cursor_state(a: Handle): number;
  sam_cursor_len(a: Handle): number;
  sam_match_end(a: Handle): number;
  sam_length(a: Handle): number;
  sam_state_count(a: Handle): number;
  sam_edge_count(a: Handle): number;
  sam_last(a: Handle): number;
  sam_draft(a: Handle, tree: Handle, maxLen: number, branches: number, minMatch: number, source: number): void;
  sam_memory(a: Handle): number;
  sam_array(a: Handle, which: number): Ptr;
  sam_import_begin(a: Handle, nTokens: number, nStates: number, nEdges: number, last: number): void;
  sam_import_finish(a: Handle): number;
  ngram_new(minN: number, maxN: number, maxTokens: number): Handle;
  ngram_free(g: Handle): void;
  ngram_reset(g: Handle): void;
  ngram_input(g: Handle, n: number): Ptr;
  ngram_append(g: Handle, n: number): void;
  ngram_length(g: Handle): number;
  ngram_match_len(g: Handle): number;
  ngram_match_end(g: Handle): number;
  ngram_draft(g: Handle, tree: Handle, maxLen: number, branches: number, source: number): void;
  ngram_memory(g: Handle): number;
  table_new(vocab: number, k: number): Handle;
  table_free(t: Handle): void;
  table_input(t: Handle, n: number): Ptr;
  table_update(t: Handle, rows: number, kIn: number): void;
  table_set_template(t: Handle, n: number): void;
  table_expand(t: Handle, tree: Handle, root: number, source: number): void;
  table_get(t: Handle, row: number, column: number): number;
  table_export(t: Handle): Ptr;
  table_export_done(t: Handle): void;
  table_import(t: Handle): void;
  table_clear(t: Handle): void;
  table_memory(t: Handle): number;
}

const FUNCTION_NAMES = [
  "tree_new", "tree_free", "tree_clear", "tree_add", "tree_size", "tree_finish", "tree_out", "tree_memory",
  "sam_new", "sam_free", "sam_reset", "sam_input", "sam_append", "sam_extend", "sam_advance", "sam_set_cursor",
  "sam_cursor_state", "sam_cursor_len", "sam_match_end", "sam_length", "sam_state_count", "sam_edge_count",
  "sam_last", "sam_draft", "sam_memory", "sam_array", "sam_import_begin", "sam_import_finish",
  "ngram_new", "ngram_free", "ngram_reset", "ngram_input", "ngram_append", "ngram_length", "ngram_match_len",
  "ngram_match_end", "ngram_draft", "ngram_memory",
  "table_new", "table_free", "table_input", "table_update", "table_set_template", "table_expand", "table_get",
  "table_export", "table_export_done", "table_import", "table_clear", "table_memory",
] as const satisfies readonly (keyof KernelExports)[];

export type KernelSource = BufferSource | WebAssembly.Module | Response | URL | string;

function defaultUrl(): URL {
  return new URL(`../../../../${KERNELS_WASM_PATH}`, import.meta.url);
}

async function compile(source: KernelSource | undefined): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  let response: Response;
  if (source instanceof Response) {
    response = source;
  } else {
    const url = source ?? defaultUrl();
    try {
      response = await fetch(url);
    } catch (cause) {
      throw new EdgespecError("not_ready", `could not fetch the WASM kernels from ${String(url)}; pass their bytes to instantiateKernels() instead (${KERNELS_WASM_PATH})`, { cause });
    }
  }
  if (!response.ok) throw new EdgespecError("not_ready", `fetching the WASM kernels failed: HTTP ${response.status} for ${response.url}`);
  return WebAssembly.compile(await response.arrayBuffer());
}

async function instantiate(source: KernelSource | undefined): Promise<KernelExports> {
  const module = await compile(source);
  const instance = await WebAssembly.instantiate(module, {});
  const exports = instance.exports as Record<string, unknown>;
  const missing = FUNCTION_NAMES.filter((name) => typeof exports[name] !== "function");
  if (!(exports.memory instanceof WebAssembly.Memory) || missing.length > 0) {
    throw new EdgespecError("not_ready", `the WASM kernels binary does not match this edgespec (missing: ${missing.join(", ") || "memory"}); rebuild it with wasm/build.sh`);
  }
  return exports as unknown as KernelExports;
}

/**
 * A fresh instance of the kernels (its own memory) from `source`. Nothing is cached here: whoever
 * sets a model up keeps the instance its drafters share (src/setup.ts), so two models, or two
 * tests, never share WASM memory by accident.
 */
export async function instantiateKernels(source?: KernelSource): Promise<KernelExports> {
  try {
    return await instantiate(source);
  } catch (cause) {
    if (cause instanceof EdgespecError) throw cause;
    throw new EdgespecError("not_ready", `the WASM kernels could not be instantiated: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}
