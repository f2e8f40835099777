/**
 * The drafters a server offers ("none" always) and one instance of each for the server's lifetime:
 * requests run one at a time, and what a drafter learns from one request (recycling tables, text
 * seen) speeds up the next. The app itself only sees drafter names.
 */
import type { Drafter } from "../drafters/types.ts";
import { builtinDrafters, type DrafterRegistry } from "../drafters/registry.ts";
import { buildDrafter } from "../engine/drafting.ts";
import type { LoadedModel } from "../model/load.ts";
import { type InProcessOptions, inProcessRunner, type ModelRunner } from "./model-runner.ts";

export interface DrafterCatalog {
  names: readonly string[];
  get(name: string, model: LoadedModel): Drafter | undefined;
  /** `model` run in this thread with these drafters; closing it disposes them. */
  runner(model: LoadedModel, opts?: Omit<InProcessOptions, "drafterFor" | "onClose">): ModelRunner;
  dispose(): void;
}

/** One drafter per name of `registry` (default: the built-ins), made on first use. */
export function sharedDrafters(registry: DrafterRegistry = builtinDrafters()): DrafterCatalog {
  const made = new Map<string, ReturnType<typeof buildDrafter>>();
  const catalog: DrafterCatalog = {
    names: registry.names,
    get(name, model) {
      if (!made.has(name)) made.set(name, buildDrafter(model, { name }, registry));
      return made.get(name);
    },
    runner: (model, opts = {}) => inProcessRunner(model, { ...opts, drafterFor: (name) => catalog.get(name, model), onClose: () => catalog.dispose() }),
    dispose() {
      for (const d of made.values()) d?.dispose();
      made.clear();
    },
  };
  return catalog;
}
