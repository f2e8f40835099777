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
import { graphInput, valueInfo } from "../onnx/graph-nodes.ts";
import { bytesField } from "../onnx/protobuf.ts";
import { DTYPE, GRAPH, nodeField, standaloneModel } from "../onnx/schema.ts";

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

/**
 * Starts onnxruntime-web's WASM runtime now: compiling its 14 MB module and starting its thread
 * pool, which its first session would otherwise do only once the model has been read and
 * rewritten. Started before those, the compile runs on the engine's compiler thread while they
 * run: process start to the first forward on this 2-core machine (fresh processes alternating
 * with the code before, 7 each, medians) edgespec-tiny 1625 -> 1524 ms, edgespec-small 2415 ->
 * 2255 ms. Call it after the thread count is set. Resolves to the start's failure, if any, for
 * the caller to report where a session would have failed.
 */
export async function startWasmRuntime(ort: OrtModule): Promise<unknown> {
  try {
    const session = await ort.InferenceSession.create(identityModel(), { executionProviders: ["wasm"], logSeverityLevel: 3 });
    await session.release();
    return undefined;
  } catch (failure) {
    return failure;
  }
}

/** The smallest session there is: y = Identity(x), one float. */
function identityModel(): Uint8Array {
  return standaloneModel("edgespec_runtime_start", [nodeField("Identity", ["x"], ["y"], "identity"), graphInput("x", DTYPE.float, [1]), bytesField(GRAPH.output, valueInfo("y", DTYPE.float, [1]))]);
}
