/**
 * A loaded model seen through other forwards: everything else (spec, info, caches, the read-back
 * counter, dispose) is the model's own. The server's views (yielding between forwards, checking for
 * an abort before each) and tests (slowed forwards) are made this way.
 */
import type { LanguageModel } from "./causal-lm.ts";
import type { LoadedModel } from "./load.ts";

export interface Forwards {
  forward: LanguageModel["forward"];
  /** Only used where the model has one. */
  forwardLast?: NonNullable<LanguageModel["forwardLast"]>;
  /** Only used where the model has one. */
  forwardTop?: NonNullable<LanguageModel["forwardTop"]>;
}

/** `model` whose forwards are `view(model.lm)`'s. */
export function modelView(model: LoadedModel, view: (inner: LanguageModel) => Forwards): LoadedModel {
  const inner = model.lm;
  const f = view(inner);
  const lm: LanguageModel = {
    get spec() {
      return inner.spec;
    },
    get info() {
      return inner.info;
    },
    get readBackBytes() {
      return inner.readBackBytes;
    },
    newCache: () => inner.newCache(),
    forward: f.forward,
    ...(inner.forwardLast && f.forwardLast ? { forwardLast: f.forwardLast } : {}),
    ...(inner.forwardTop && f.forwardTop ? { forwardTop: f.forwardTop } : {}),
    dispose: () => inner.dispose(),
  };
  return { ...model, lm };
}
