/**
 * A LanguageModel view that lets the event loop run before every forward. onnxruntime-web's wasm
 * `run` settles through microtasks only (onnxruntime-node's runs synchronously), so a generation
 * loop of awaits would otherwise hold the event loop for its whole length: no other request (not
 * even /health or a 429) would be answered, no disconnect seen, no deadline timer fired, until it
 * ended.
 *
 * A long prompt's prefill is one forward that holds the loop for its whole length (a 1500-token
 * prompt: about a second on two cores), so prefills are run in chunks of PREFILL_CHUNK tokens with
 * the loop let in between: the cache is the same, and each row still attends to every position
 * before it.
 */
import type { LanguageModel } from "../model/causal-lm.ts";
import type { LoadedModel } from "../model/load.ts";

/** Tokens per prefill forward: a chunk costs tens of milliseconds, not seconds. */
export const PREFILL_CHUNK = 64;

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
      // Tree steps (a bias) are bounded by the tree budget; only prompts are chunked.
      if (opts?.attentionBias || tokens.length <= PREFILL_CHUNK) {
        await nextMacrotask();
        return inner.forward(tokens, positions, cache, opts);
      }
      const V = inner.spec.vocabSize;
      const rows = new Float32Array(tokens.length * V);
      for (let i = 0; i < tokens.length; i += PREFILL_CHUNK) {
        const end = Math.min(tokens.length, i + PREFILL_CHUNK);
        await nextMacrotask();
        rows.set(await inner.forward(Array.prototype.slice.call(tokens, i, end), Array.prototype.slice.call(positions, i, end), cache), i * V);
      }
      return rows;
    },
    ...(inner.forwardLast ? { forwardLast: chunkedLast(inner) } : {}),
    dispose: () => inner.dispose(),
  };
  return { ...model, lm };
}

/** forwardLast in PREFILL_CHUNK pieces: the last chunk's last row, and every chunk's top-k rows. */
function chunkedLast(inner: LanguageModel): NonNullable<LanguageModel["forwardLast"]> {
  return async (tokens, positions, cache, k) => {
    const topK = new Int32Array(tokens.length * k);
    let last: Float32Array | undefined;
    for (let i = 0; i < tokens.length; i += PREFILL_CHUNK) {
      const end = Math.min(tokens.length, i + PREFILL_CHUNK);
      await nextMacrotask();
      const r = await inner.forwardLast!(Array.prototype.slice.call(tokens, i, end), Array.prototype.slice.call(positions, i, end), cache, k);
      topK.set(r.topK, i * k);
      last = r.last;
    }
    return { last: last!, topK };
  };
}
