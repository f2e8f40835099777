/**
 * Retrieval drafters: guesses of the next tokens from what has been seen, with no draft model.
 *
 *   createDrafter("hybrid", { vocabSize, tokenizerFingerprint })  // recycle | sam | ngram | hybrid | none
 *
 * Exports: the factory and its names; each drafter class; the corpus index (static SAM, as a suffix array);
 * `ngramPropose` (the reference prompt lookup); tree templates and `TreeBuilder`; the tokenizer
 * fingerprint; kernel sets. Drafters run on the TypeScript kernels unless handed a set:
 * `createDrafter("sam", { vocabSize, kernels: await loadWasmKernels(bytes) })` (one instance, its own memory).
 */
import { EdgespecError } from "../errors.ts";
import type { CommonOptions } from "./context.ts";
import { HybridDrafter, type HybridOptions } from "./hybrid.ts";
import { NgramDrafter, type NgramOptions } from "./ngram.ts";
import { NoDrafter } from "./none.ts";
import { type AutomatonOptions, SuffixAutomatonDrafter } from "./suffix-automaton.ts";
import { type RecyclingOptions, TokenRecyclingDrafter } from "./token-recycling.ts";
import type { ManagedDrafter } from "./types.ts";

export const DRAFTER_NAMES = ["none", "recycle", "sam", "ngram", "hybrid"] as const;
export type DrafterName = (typeof DRAFTER_NAMES)[number];

export interface DrafterOptions extends CommonOptions {
  recycle?: RecyclingOptions;
  sam?: AutomatonOptions;
  ngram?: NgramOptions;
  hybrid?: HybridOptions;
}


export function createDrafter(name: string, opts: DrafterOptions): ManagedDrafter {
  switch (name as DrafterName) {
    case "none":
      return new NoDrafter(opts);
    case "recycle":
      return new TokenRecyclingDrafter(opts);
    case "sam":
      return new SuffixAutomatonDrafter(opts);
    case "ngram":
      return new NgramDrafter(opts);
    case "hybrid":
      return new HybridDrafter(opts);
    default:
      throw new EdgespecError("invalid_argument", `unknown drafter "${name}"`, { validOptions: DRAFTER_NAMES });
  }
}

export type { CommonOptions, DrafterContext } from "./context.ts";
export { CorpusIndex, type CorpusOptions } from "./corpus-index.ts";
export { CorpusCursor } from "./corpus-cursor.ts";
export { tokenizerFingerprint } from "./fingerprint.ts";
export { HybridDrafter, type HybridOptions } from "./hybrid.ts";
export { KERNEL_CHOICES, type KernelChoice, type KernelSet, loadWasmKernels, tsKernels, wasmKernels } from "./kernels/index.ts";
export { ngramPropose, NgramDrafter, type NgramOptions } from "./ngram.ts";
export { NoDrafter } from "./none.ts";
export { TokenizerMismatchError } from "./persist.ts";
export { DRAFT_SOURCES, type DraftSource } from "./sources.ts";
export { type AutomatonOptions, SuffixAutomatonDrafter } from "./suffix-automaton.ts";
export { type RecyclingOptions, TokenRecyclingDrafter } from "./token-recycling.ts";
export { TreeBuilder } from "./tree-builder.ts";
export { checkTemplate, TOKEN_RECYCLING_TEMPLATE, templateFromChildCounts, templateFromPaths, type TreeTemplate } from "./tree-template.ts";
export type { DraftTree, Drafter, ManagedDrafter, VerifyUpdate } from "./types.ts";
export { builtinDrafters, type DrafterMakeContext, type DrafterMaker, DrafterRegistry } from "./registry.ts";
export { instantiateKernels, type KernelSource } from "./kernels/wasm/loader.ts";
