/**
 * The library on Bun: `import { open } from "edgespec"` (or "edgespec/bun").
 * open() is openWith() (src/library.ts) with this runtime's Host bound.
 */
import { type LM, type OpenOptions, openWith } from "../../src/library.ts";
import { bunHost } from "./host.ts";

export type { ChatMessage, GenerateParams, LM, OpenOptions, ProgressEvent, SpecResult } from "../../src/library.ts";
export { EdgespecError } from "../../src/errors.ts";
export { edgespecApp } from "../../src/library.ts";
export { builtinDrafters, type DrafterMakeContext, type DrafterMaker, DrafterRegistry } from "../../src/drafters/registry.ts";
export type { DraftTree, Drafter, VerifyUpdate } from "../../src/drafters/types.ts";
export { createApp, type AppOptions } from "../../src/server/app.ts";

/** Loads a model (default: the shipped default model) and its drafter; see src/library.ts. */
export function open(options: OpenOptions = {}): Promise<LM> {
  return openWith(bunHost, options);
}
