/** The flags every model-loading command shares, and the one way they become a loadModel call. */
import type { Host } from "../host.ts";
import { DEFAULT_DTYPE, DTYPES } from "../model/dtype.ts";
import { type LoadedModel, loadModel } from "../model/load.ts";
import type { FlagSpec, Flags } from "./args.ts";
import type { CliIO } from "./main.ts";

export const MODEL_FLAGS: FlagSpec = {
  model: { type: "string", help: "model directory (Hugging Face layout)", default: "the embedded edgespec-tiny" },
  dtype: { type: "string", help: `weights: ${DTYPES.join("|")}`, default: DEFAULT_DTYPE },
  device: { type: "string", help: "auto|wasm|webgpu", default: "auto" },
  threads: { type: "int", help: "wasm threads" },
};

export function modelDirFrom(host: Host, f: Flags): string {
  return (f.model as string | undefined) ?? host.defaultModelDir();
}

/** Starts loading the model the flags name, with progress on stderr. */
export function loadModelFrom(host: Host, f: Flags, io: CliIO): Promise<LoadedModel> {
  return loadModel(host, modelDirFrom(host, f), {
    // Unset: loadModel's default (or, for a one-graph onnxruntime-genai folder, that graph's dtype).
    dtype: f.dtype as string | undefined,
    device: (f.device as string | undefined) ?? "auto",
    threads: f.threads as number | undefined,
    onProgress: (m) => io.err(`${m}\n`),
  });
}
