/**
 * onnxruntime-web reads `env.wasm.numThreads` once, when its first session starts the WASM runtime
 * (its thread pool is the process's): the thread count is a fact of the process, not a setting of
 * each model. So a load never rewrites it: the first WASM model in a process (or the adapter,
 * before any) sets it, later loads run with it, and a load that asks for another count is refused
 * with the reason instead of silently running with the first. Native CPU sessions (onnxruntime-node)
 * have their own thread pools and take a count per session.
 */
import { EdgespecError } from "../errors.ts";
import type { OrtModule } from "../host.ts";

/** "1 thread", "2 threads": how the load line, inspect and the bench say a count. */
export function threadsPhrase(n: number): string {
  return `${n} thread${n === 1 ? "" : "s"}`;
}

/** The WASM thread count a session on `ort` runs with; `requested` undefined = whatever is set, else `fallback`. */
export function wasmThreadsFor(ort: OrtModule, requested: number | undefined, fallback: number): number {
  const set = ort.env.wasm.numThreads;
  if (typeof set === "number" && set > 0) {
    if (requested !== undefined && requested !== set) {
      throw new EdgespecError(
        "invalid_argument",
        `onnxruntime-web runs every WASM model of a process on one thread pool, already set to ${threadsPhrase(set)}; asked for ${requested} (leave threads unset, or use another process)`,
      );
    }
    return set;
  }
  const threads = requested ?? fallback;
  ort.env.wasm.numThreads = threads;
  return threads;
}
