/** The flags every model-loading command shares, and the one way they become a model setup (src/setup.ts). */
import { KERNEL_CHOICES, type KernelChoice, parseKernels } from "../drafters/kernels/index.ts";
import type { Host } from "../host.ts";
import { DEFAULT_DTYPE, DTYPES, type Dtype, parseDtype } from "../model/dtype.ts";
import { type DeviceChoice, parseDevice } from "../model/device-choice.ts";
import { MAX_THREADS } from "../model/load.ts";
import { DEFAULT_MODEL, REFERENCE_MODEL, resolveModelDir } from "../model/shipped.ts";
import { EdgespecError } from "../errors.ts";
import { baseName } from "../paths.ts";
import { type ModelSetup, type SetupData, setUp, type SetupOptions } from "../setup.ts";
import type { FlagSpec, Flags } from "./args.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import { progressPrinter } from "./progress.ts";

export const MODEL_FLAGS: FlagSpec = {
  model: { type: "string", short: "m", help: "model directory (Hugging Face layout), or the name of a shipped model (edgespec-tiny, edgespec-small)", default: "edgespec-small (the single binary: the embedded edgespec-tiny)" },
  dtype: { type: "string", help: `weights: ${DTYPES.join("|")}`, default: DEFAULT_DTYPE },
  device: { type: "string", help: "auto|wasm|webgpu|cpu (cpu: native onnxruntime-node, where installed)", default: "auto" },
  threads: { type: "int", help: "threads (wasm: the process's pool; cpu: the session's)", min: 1, max: MAX_THREADS },
  "packed-weights": { type: "boolean", help: "wasm: keep 4-bit weights packed (their memory; every forward dequantizes them) instead of unpacking them to float32 at load" },
  kernels: { type: "string", help: `drafter kernels: ${KERNEL_CHOICES.join("|")} (auto: WASM where it loads, else TypeScript)`, default: "auto" },
};

/** For the commands that draft (generate, chat, serve). */
export const CORPUS_FLAG: FlagSpec = {
  corpus: { type: "string", help: "static corpus for sam/hybrid: a text/code file, a folder, or a saved .escorpus (one built from text is saved beside it and reused)" },
};

const BARE_NAME = /^[\w.-]+$/;

/**
 * The shipped models this build loads by name (its CliRuntime says: the single binary embeds only
 * edgespec-tiny); the package's by default. Said, not probed: probing would stat folders, which
 * Deno may refuse or ask about on a terminal, for a --help.
 */
function shippedNames(rt: CliRuntime): readonly string[] {
  return rt.shippedModels ?? [REFERENCE_MODEL, DEFAULT_MODEL];
}

/** A command's flags with --model's help naming the models this build ships and its default, for its --help. */
export function flagsForHelp(host: Host, spec: FlagSpec, rt: CliRuntime = {}): FlagSpec {
  if (!spec.model) return spec;
  const names = shippedNames(rt);
  const fallback = baseName(host.defaultModelDir()) || DEFAULT_MODEL;
  const shipped = names.length === 0 ? "" : `, or the name of a shipped model (${names.join(", ")})`;
  return { ...spec, model: { ...spec.model, help: `model directory (Hugging Face layout)${shipped}`, default: fallback } };
}

/**
 * The model folder the flags name: a path, or a bare name (no slash) of a model shipped beside
 * the default one (`models/<name>`) when no folder of that name is here. A bare name that is
 * neither is refused here, naming the models this build loads by name (the single binary embeds
 * only edgespec-tiny: `--model edgespec-small` needs that model's folder).
 */
export async function modelDirFrom(host: Host, f: Flags, rt: CliRuntime = {}): Promise<string> {
  const given = f.model as string | undefined;
  const dir = await resolveModelDir(host, given);
  if (given !== undefined && dir === given && BARE_NAME.test(given) && !(await host.isDirectory(given))) {
    const names = shippedNames(rt);
    const byName = names.length ? `this build ships ${names.join(", ")}; ` : "";
    throw new EdgespecError("model_not_found", `model directory not found: ${given} (${byName}give another model's folder as a path)`);
  }
  return dir;
}

/**
 * The choices the load refuses (dtype, device, kernels), checked with the load's own messages for a
 * command that does other work first: serve listens before it loads, and printed "listening on …"
 * before a wrong --device's usage error.
 */
export function checkModelChoices(f: Flags): void {
  if (f.dtype !== undefined) parseDtype(f.dtype as string);
  parseDevice((f.device as string | undefined) ?? "auto");
  parseKernels((f.kernels as string | undefined) ?? "auto");
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
export async function setUpFrom(host: Host, f: Flags, io: CliIO, extra: Partial<SetupOptions> = {}, rt: CliRuntime = {}): Promise<ModelSetup> {
  if (extra.model === undefined && typeof f.model === "string" && BARE_NAME.test(f.model)) await modelDirFrom(host, f, rt); // an unknown name, said as such
  const progress = progressPrinter(io);
  try {
    return await setUp(host, { ...setupDataFrom(f), ...extra, onProgress: progress.show });
  } finally {
    progress.done();
  }
}
