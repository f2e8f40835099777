/**
 * Kernel sets: `ts` (always there) and `wasm` (over one instance of the Rust kernels, made by
 * `loadWasmKernels`). Drafters are handed a set; they never look one up, so nothing here is global.
 * Which set a model's drafters get is decided once, where the model is set up (src/setup.ts).
 */
import { EdgespecError } from "../../errors.ts";
import { tsKernels } from "./ts/index.ts";
import type { KernelSet } from "./types.ts";
import { loadWasmKernels, wasmKernels } from "./wasm/index.ts";

/** What a user asks for: `auto` is WASM where the runtime gives the binary and it instantiates, else TypeScript. */
export type KernelChoice = "ts" | "wasm" | "auto";
export const KERNEL_CHOICES: readonly KernelChoice[] = ["auto", "wasm", "ts"];

/** `value` as a kernel choice, or the one error for any other (the CLI's flags and setUp's option alike). */
export function parseKernels(value: unknown): KernelChoice {
  if ((KERNEL_CHOICES as readonly unknown[]).includes(value)) return value as KernelChoice;
  throw new EdgespecError("invalid_argument", `unknown kernels "${String(value)}"`, { validOptions: KERNEL_CHOICES });
}

const KERNEL_VERBS = ["tree", "automaton", "ngramIndex", "recyclingTable"] as const;

/** The set a drafter was given (default: TypeScript); anything that is not a kernel set is a clear error. */
export function kernelSetOf(kernels: KernelSet | undefined): KernelSet {
  if (kernels === undefined) return tsKernels;
  const k = kernels as unknown as Partial<Record<string, unknown>> | null;
  if (typeof k !== "object" || k === null || KERNEL_VERBS.some((v) => typeof k[v] !== "function")) {
    throw new EdgespecError("invalid_argument", `kernels must be a kernel set (tsKernels, or await loadWasmKernels(bytes)), got ${JSON.stringify(kernels)}`);
  }
  return kernels;
}

export { loadWasmKernels, tsKernels, wasmKernels };
export type { AutomatonArrays, AutomatonKernel, KernelSet, NgramIndexKernel, RecyclingTableKernel, TreeKernel } from "./types.ts";
