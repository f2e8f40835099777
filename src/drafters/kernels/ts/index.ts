/** The TypeScript kernel set: always available, no initialisation. */
import { TreeBuilder } from "../../tree-builder.ts";
import type { KernelSet } from "../types.ts";
import { TsAutomaton } from "./automaton.ts";
import { TsNgramIndex } from "./ngram-index.ts";
import { TsRecyclingTable } from "./recycling-table.ts";

export const tsKernels: KernelSet = {
  name: "ts",
  tree: () => new TreeBuilder(),
  automaton: (maxTokens) => new TsAutomaton(maxTokens),
  ngramIndex: (minN, maxN, maxTokens) => new TsNgramIndex(minN, maxN, maxTokens),
  recyclingTable: (vocabSize, k) => new TsRecyclingTable(vocabSize, k),
};
