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

/**
 * A lighter view for callers that own their event loop (the library): before a forward, the loop
 * is let in only when `everyMs` have passed since it last ran, so an abort timer, a disconnect or
 * another request's I/O waits at most about that long plus one forward, at the price of one
 * macrotask per `everyMs` (the server's yield before every forward would add a macrotask's
 * delay to every step of a caller that may have nothing else to run).
 * Prompts are not chunked: a library call's own prefill holds the loop as it always did.
 */
export function yieldingEvery(model: LoadedModel, everyMs: number): LoadedModel {
  let last = performance.now();
  /** `run` now, or after a macrotask when `everyMs` have passed since the loop last ran. */
  const gated = <T>(run: () => Promise<T>): Promise<T> => {
    if (performance.now() - last < everyMs) return run();
    return nextMacrotask().then(() => {
      last = performance.now();
      return run();
    });
  };
  return modelView(model, (inner) => ({
    forward: (tokens, positions, cache, opts) => gated(() => inner.forward(tokens, positions, cache, opts)),
    // The prefill's own forward: passed through (modelView drops what a view leaves out).
    forwardLast: (tokens, positions, cache, k, from) => inner.forwardLast!(tokens, positions, cache, k, from),
    forwardTop: (tokens, positions, cache, withTopK, opts) => gated(() => inner.forwardTop!(tokens, positions, cache, withTopK, opts)),
  }));
}
