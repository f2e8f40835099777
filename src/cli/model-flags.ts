/** The flags every model-loading command shares, and the one way they become a model setup (src/setup.ts). */
import { KERNEL_CHOICES, type KernelChoice } from "../drafters/kernels/index.ts";
import type { Host } from "../host.ts";
import { DEFAULT_DTYPE, DTYPES, type Dtype } from "../model/dtype.ts";
import type { DeviceChoice } from "../model/load.ts";
import { resolveModelDir } from "../model/shipped.ts";
import { type ModelSetup, type SetupData, setUp, type SetupOptions } from "../setup.ts";
import type { FlagSpec, Flags } from "./args.ts";
import type { CliIO } from "./io.ts";
import { progressPrinter } from "./progress.ts";

export const MODEL_FLAGS: FlagSpec = {
  model: { type: "string", short: "m", help: "model directory (Hugging Face layout), or the name of a shipped model (edgespec-tiny, edgespec-small)", default: "edgespec-small (the single binary: the embedded edgespec-tiny)" },
  dtype: { type: "string", help: `weights: ${DTYPES.join("|")}`, default: DEFAULT_DTYPE },
  device: { type: "string", help: "auto|wasm|webgpu|cpu (cpu: native onnxruntime-node, where installed)", default: "auto" },
  threads: { type: "int", help: "threads (wasm: the process's pool; cpu: the session's)" },
  "packed-weights": { type: "boolean", help: "wasm: keep 4-bit weights packed (their memory; every forward dequantizes them) instead of unpacking them to float32 at load" },
  kernels: { type: "string", help: `drafter kernels: ${KERNEL_CHOICES.join("|")} (auto: WASM where it loads, else TypeScript)`, default: "auto" },
};

/** For the commands that draft (generate, chat, serve). */
export const CORPUS_FLAG: FlagSpec = {
  corpus: { type: "string", help: "static corpus for sam/hybrid: a text/code file, a folder, or a saved .escorpus (one built from text is saved beside it and reused)" },
};

/**
 * The model folder the flags name: a path, or a bare name (no slash) of a model shipped beside
 * the default one (`models/<name>`) when no folder of that name is here.
 */
export function modelDirFrom(host: Host, f: Flags): Promise<string> {
  return resolveModelDir(host, f.model as string | undefined);
}

/** The flags' setup options, as data (a model worker is sent them). */
export function setupDataFrom(f: Flags): SetupData {
  // Unset dtype: loadModel's default (or, for a one-graph onnxruntime-genai folder, that graph's dtype).
  return {
    ...(f.model === undefined ? {} : { model: f.model as string }),
    // Flags are text: dtype, device and kernels are checked where they are used (parseDtype and
    // parseDevice at load, setUp's kernels check), which names the valid values.
    ...(f.dtype === undefined ? {} : { dtype: f.dtype as Dtype }),
    device: ((f.device as string | undefined) ?? "auto") as DeviceChoice,
    ...(f.threads === undefined ? {} : { threads: f.threads as number }),
    ...(f["packed-weights"] ? { unpackWeights: false } : {}),
    kernels: ((f.kernels as string | undefined) ?? "auto") as KernelChoice,
    ...(f.drafter === undefined ? {} : { drafter: f.drafter as string }),
    ...(f.corpus === undefined ? {} : { corpus: f.corpus as string }),
  };
}

/** Sets up the model the flags name, with progress on stderr (a bar on a terminal). */
export async function setUpFrom(host: Host, f: Flags, io: CliIO, extra: Partial<SetupOptions> = {}): Promise<ModelSetup> {
  const progress = progressPrinter(io);
  try {
    return await setUp(host, { ...setupDataFrom(f), ...extra, onProgress: progress.show });
  } finally {
    progress.done();
  }
}
