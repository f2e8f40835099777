/** The flags every model-loading command shares, and the one way they become a loadModel call. */
import { resolveModelDir } from "../model/shipped.ts";
import type { Host } from "../host.ts";
import { DEFAULT_DTYPE, DTYPES } from "../model/dtype.ts";
import { type LoadedModel, loadModel } from "../model/load.ts";
import type { FlagSpec, Flags } from "./args.ts";
import type { CliIO } from "./io.ts";

export const MODEL_FLAGS: FlagSpec = {
  model: { type: "string", short: "m", help: "model directory (Hugging Face layout), or the name of a shipped model (edgespec-tiny, edgespec-small)", default: "edgespec-small (the single binary: the embedded edgespec-tiny)" },
  dtype: { type: "string", help: `weights: ${DTYPES.join("|")}`, default: DEFAULT_DTYPE },
  device: { type: "string", help: "auto|wasm|webgpu|cpu (cpu: native onnxruntime-node, where installed)", default: "auto" },
  threads: { type: "int", help: "wasm threads" },
};

/**
 * The model folder the flags name: a path, or a bare name (no slash) of a model shipped beside
 * the default one (`models/<name>`) when no folder of that name is here.
 */
export function modelDirFrom(host: Host, f: Flags): Promise<string> {
  return resolveModelDir(host, f.model as string | undefined);
}

/** The flags' load options, as data (a model worker is sent them). */
export function loadOptionsFrom(f: Flags): { dtype?: string; device: string; threads?: number } {
  // Unset dtype: loadModel's default (or, for a one-graph onnxruntime-genai folder, that graph's dtype).
  return { dtype: f.dtype as string | undefined, device: (f.device as string | undefined) ?? "auto", threads: f.threads as number | undefined };
}

/** Starts loading the model the flags name (from `dir` where the caller resolved it already), with progress on stderr. */
export async function loadModelFrom(host: Host, f: Flags, io: CliIO, dir?: string): Promise<LoadedModel> {
  return loadModel(host, dir ?? (await modelDirFrom(host, f)), { ...loadOptionsFrom(f), onProgress: (m) => io.err(`${m}\n`) });
}
