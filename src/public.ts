/** What every runtime's entry (adapters/<runtime>/index.ts) exports besides its own `open`. */
export type { ChatMessage, GenerateParams, LM, LMStats, OpenOptions, ProgressEvent, SpecResult } from "./library.ts";
export { edgespecApp } from "./library.ts";
export { EdgespecError, type ErrorCode } from "./errors.ts";
export { builtinDrafters, type DrafterMakeContext, type DrafterMaker, DrafterRegistry } from "./drafters/registry.ts";
export type { DraftTree, Drafter, VerifyUpdate } from "./drafters/types.ts";
export type { KernelChoice, KernelSet } from "./drafters/kernels/index.ts";
export { type AppOptions, createApp } from "./server/app.ts";
