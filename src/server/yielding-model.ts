/**
 * A LanguageModel view that lets the event loop run before every forward. onnxruntime-web's wasm
 * `run` settles through microtasks only, so a generation loop of awaits would otherwise hold the
 * event loop for its whole length: no other request (not even /health or a 429) would be
 * answered, no disconnect seen, no deadline timer fired, until it ended.
 */
import type { LanguageModel } from "../model/causal-lm.ts";
import type { LoadedModel } from "../model/load.ts";

const nextMacrotask: () => Promise<void> =
  typeof setImmediate === "function" ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

export function yielding(model: LoadedModel): LoadedModel {
  const inner = model.lm;
  const lm: LanguageModel = {
    get spec() {
      return inner.spec;
    },
    get info() {
      return inner.info;
    },
    newCache: () => inner.newCache(),
    async forward(tokens, positions, cache, opts) {
      await nextMacrotask();
      return inner.forward(tokens, positions, cache, opts);
    },
    dispose: () => inner.dispose(),
  };
  return { ...model, lm };
}
