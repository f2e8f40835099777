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
import type { LoadedModel } from "../model/load.ts";
import { modelView } from "../model/model-view.ts";
import { lastInChunks, rowsInChunks } from "../decode/prefill.ts";

/** Tokens per prefill forward: a chunk costs tens of milliseconds, not seconds. */
export const PREFILL_CHUNK = 64;

const nextMacrotask: () => Promise<void> =
  typeof setImmediate === "function" ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

export function yielding(model: LoadedModel): LoadedModel {
  return modelView(model, (inner) => ({
    forward(tokens, positions, cache, opts) {
      // Tree steps (a bias) are bounded by the tree budget; only prompts are chunked.
      if (opts?.attentionBias) return nextMacrotask().then(() => inner.forward(tokens, positions, cache, opts));
      return rowsInChunks(inner, tokens, positions, cache, PREFILL_CHUNK, nextMacrotask);
    },
    forwardLast: (tokens, positions, cache, k, from) => lastInChunks(inner, tokens, positions, cache, k, PREFILL_CHUNK, nextMacrotask, from),
    // Decode and tree steps only (a step's tokens, bounded by the tree budget): no chunks.
    forwardTop: (tokens, positions, cache, withTopK, opts) => nextMacrotask().then(() => inner.forwardTop!(tokens, positions, cache, withTopK, opts)),
  }));
}
