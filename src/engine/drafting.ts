/**
 * Drafter pieces for a loaded model: one drafter by name (a fresh one; src/setup.ts keeps the
 * shared ones a served model uses), the model's shipped assets it starts from, a drafter's saved
 * state.
 */
import { type CorpusIndex, DRAFTER_NAMES, type ManagedDrafter, tsKernels } from "../drafters/index.ts";
import { builtinDrafters, type DrafterMaker, type DrafterRegistry } from "../drafters/registry.ts";
import type { DraftAssetName } from "../model/draft-assets.ts";
import type { LoadedModel } from "../model/load.ts";
import type { KernelSet } from "../drafters/kernels/index.ts";

export { DRAFTER_NAMES };

export interface DrafterSetup {
  /** none | recycle | sam | ngram | hybrid */
  name: string;
  /** Static corpus for sam/hybrid (see `loadCorpus` in corpus.ts); default: the model's draft corpus, if it ships one. */
  corpus?: CorpusIndex;
  /** A Token Recycling table saved earlier (hot start after a restart); default: the model's own warm table, if it ships one. */
  recycleState?: Uint8Array;
  /** Kernels it runs on (default: TypeScript). */
  kernels?: KernelSet;
}

export function fingerprintOf(model: LoadedModel): string {
  return model.tokenizer.fingerprint;
}

/** The model's shipped assets a drafter made from `setup` starts from: those its maker declares, less those `setup` gives instead. */
function shippedAssetsFor(maker: DrafterMaker | undefined, setup: DrafterSetup): DraftAssetName[] {
  const names: DraftAssetName[] = [];
  if (maker?.recyclingTable && !setup.recycleState) names.push("recycleTable");
  // A corpus given (--corpus) takes the place of the model's own draft corpus.
  if (maker?.usesCorpus && !setup.corpus) names.push("draftCorpus");
  return names;
}

/**
 * Reads the model's shipped assets that `buildDrafter(model, setup, registry)` will hand over
 * (each once per model: later calls, for this drafter or another, share the first read).
 */
export async function readDraftAssets(model: LoadedModel, setup: DrafterSetup, registry: DrafterRegistry = builtinDrafters()): Promise<void> {
  await model.draftAssets?.read(shippedAssetsFor(registry.maker(setup.name), setup));
}

/**
 * A drafter for `model` from `registry` (default: the built-ins), or undefined for "none". The
 * shipped assets it starts from must have been read (readDraftAssets): a not_ready error says so.
 */
export function buildDrafter(model: LoadedModel, setup: DrafterSetup, registry: DrafterRegistry = builtinDrafters()): ManagedDrafter | undefined {
  const shipped = model.draftAssets?.taken(shippedAssetsFor(registry.maker(setup.name), setup)) ?? {};
  const state = setup.recycleState ?? shipped.recycleTable;
  const corpus = setup.corpus ?? shipped.draftCorpus;
  return registry.create(setup.name, {
    vocabSize: model.lm.spec.vocabSize,
    kernels: setup.kernels ?? tsKernels,
    tokenizerFingerprint: fingerprintOf(model),
    ...(corpus ? { corpus } : {}),
    ...(state ? { savedState: state } : {}),
  });
}

/** The saved table of a drafter that has one (recycle, hybrid), for `--recycle-state`. */
export function recycleStateOf(drafter: ManagedDrafter | undefined): Uint8Array | undefined {
  const d = drafter as { save?: () => Uint8Array } | undefined;
  return typeof d?.save === "function" ? d.save() : undefined;
}
