/**
 * The library on Node: `import { open } from "edgespec"` (or "edgespec/node").
 * open() is openWith() (src/library.ts) with this runtime's Host bound.
 */
import { type LM, type OpenOptions, openWith } from "../../src/library.ts";
import { nodeHost } from "./host.ts";

export * from "../../src/public.ts";

/** Loads a model (default: the shipped default model) and its drafter; see src/library.ts. */
export function open(options: OpenOptions = {}): Promise<LM> {
  return openWith(nodeHost, options);
}
