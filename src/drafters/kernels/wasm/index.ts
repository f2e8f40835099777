/** The WASM kernel set over one instance of the kernels (see src/drafters/kernels/wasm/loader.ts). */
import { instantiateKernels, type KernelExports, type KernelSource } from "./loader.ts";
import type { KernelSet } from "../types.ts";
import { WasmAutomaton } from "./automaton.ts";
import { WasmHeap } from "./heap.ts";
import { WasmNgramIndex } from "./ngram-index.ts";
import { WasmRecyclingTable } from "./recycling-table.ts";
import { WasmTree } from "./tree.ts";

const sets = new WeakMap<KernelExports, KernelSet>();

/** WASM kernels over one instance's `exports`: every object they make lives in that instance's memory. */
export function wasmKernels(exports: KernelExports): KernelSet {
  let set = sets.get(exports);
  if (!set) {
    const heap = new WasmHeap(exports);
    set = {
      name: "wasm",
      tree: () => new WasmTree(heap),
      automaton: (maxTokens) => new WasmAutomaton(heap, maxTokens),
      ngramIndex: (minN, maxN, maxTokens) => new WasmNgramIndex(heap, minN, maxN, maxTokens),
      recyclingTable: (vocabSize, k) => new WasmRecyclingTable(heap, vocabSize, k),
    };
    sets.set(exports, set);
  }
  return set;
}

/** WASM kernels over a fresh instance from `source` (see instantiateKernels). */
export async function loadWasmKernels(source?: KernelSource): Promise<KernelSet> {
  return wasmKernels(await instantiateKernels(source));
}
