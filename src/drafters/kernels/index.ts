/**
 * Kernel sets: `ts` (always there) and `wasm` (after `initKernels()`); `auto` picks WASM when it
 * is ready and TypeScript otherwise, so a drafter never waits on or fails for the WASM.
 */
import { EdgespecError } from "../../errors.ts";
import { kernelsReady } from "./wasm/loader.ts";
import { tsKernels } from "./ts/index.ts";
import type { KernelSet } from "./types.ts";
import { wasmKernels } from "./wasm/index.ts";

export type KernelChoice = "ts" | "wasm" | "auto";
export const KERNEL_CHOICES: readonly KernelChoice[] = ["auto", "wasm", "ts"];

export function selectKernels(choice: KernelChoice | KernelSet = "auto"): KernelSet {
  if (typeof choice === "object") return choice;
  switch (choice) {
    case "ts":
      return tsKernels;
    case "wasm":
      return wasmKernels(); // throws not_ready before initKernels() resolved
    case "auto":
      return kernelsReady() ? wasmKernels() : tsKernels;
    default:
      throw new EdgespecError("invalid_argument", `unknown kernel set "${String(choice)}"`, { validOptions: KERNEL_CHOICES });
  }
}

export { tsKernels, wasmKernels };
export type { AutomatonArrays, AutomatonKernel, KernelSet, NgramIndexKernel, RecyclingTableKernel, TreeKernel } from "./types.ts";
