/**
 * Drafter pieces for a loaded model: one drafter by name (a fresh one; src/setup.ts keeps the
 * shared ones a served model uses), a drafter's saved state.
 */
import { type CorpusIndex, DRAFTER_NAMES, type ManagedDrafter, tsKernels } from "../drafters/index.ts";
import { builtinDrafters, type DrafterRegistry } from "../drafters/registry.ts";
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

/** A drafter for `model` from `registry` (default: the built-ins), or undefined for "none". */
export function buildDrafter(model: LoadedModel, setup: DrafterSetup, registry: DrafterRegistry = builtinDrafters()): ManagedDrafter | undefined {
  const maker = registry.maker(setup.name);
  const state = setup.recycleState ?? (maker?.recyclingTable ? model.recycleTable : undefined);
  // A corpus given (--corpus) takes the place of the model's own draft corpus.
  const corpus = setup.corpus ?? (maker?.usesCorpus ? model.draftCorpus : undefined);
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
