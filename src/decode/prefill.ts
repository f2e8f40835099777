/**
 * The prompt's forward, in chunks of PROMPT_CHUNK tokens. One forward over a long prompt holds
 * every token's activations (and an attention matrix per head over all of them) at once; in
 * chunks the cache is the same and each row still attends to everything before it. Measured on
 * edgespec-small, WASM, a 1500-token prompt: one forward 2262 ms and a 731 MB process peak;
 * chunks of 256: 1937 ms and 637 MB (128: 2002 ms, 622 MB; 512: 1964 ms, 615 MB).
 * Plain and speculative decoding both prefill here, so their outputs stay identical. The
 * server's model view chunks again, smaller, with the event loop let in between (the `before`
 * hook of the chunked forwards below).
 */
import type { LanguageModel, LastRows, SequenceCache } from "../model/causal-lm.ts";

export const PROMPT_CHUNK = 256;

const slice = (a: ArrayLike<number>, from: number, to: number): number[] => Array.prototype.slice.call(a, from, to);
const NOTHING = async () => {};

/** `forward` over `tokens` in pieces of `chunk`, awaiting `before` ahead of each: every row's logits. */
export async function rowsInChunks(lm: LanguageModel, tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: SequenceCache, chunk: number, before = NOTHING): Promise<Float32Array> {
  if (tokens.length <= chunk) {
    await before();
    return lm.forward(tokens, positions, cache);
  }
  const V = lm.spec.vocabSize;
  const rows = new Float32Array(tokens.length * V);
  for (let i = 0; i < tokens.length; i += chunk) {
    const end = Math.min(tokens.length, i + chunk);
    await before();
    rows.set(await lm.forward(slice(tokens, i, end), slice(positions, i, end), cache), i * V);
  }
  return rows;
}

/**
 * `lm.forwardLast` over `tokens` in pieces of `chunk`: the last row, and the k best ids of every
 * row from `from` on (a piece wholly before it asks for none).
 */
export async function lastInChunks(lm: LanguageModel, tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: SequenceCache, k: number, chunk: number, before = NOTHING, from = 0): Promise<LastRows> {
  const forwardLast = lm.forwardLast!;
  const topK = new Int32Array(Math.max(0, tokens.length - from) * k);
  let last: Float32Array | undefined;
  for (let i = 0; i < tokens.length; i += chunk) {
    const end = Math.min(tokens.length, i + chunk);
    await before();
    const wanted = k > 0 && end > from;
    const r = await forwardLast(slice(tokens, i, end), slice(positions, i, end), cache, wanted ? k : 0, wanted ? Math.max(0, from - i) : 0);
    if (wanted) topK.set(r.topK, (Math.max(i, from) - from) * k);
    last = r.last;
  }
  return { last: last!, topK };
}

const positionsOf = (ids: readonly number[]) => ids.map((_, i) => i);

/** Every prompt row's logits (for the prompt's own logprobs), [ids.length * vocab]. */
export function prefillRows(lm: LanguageModel, ids: readonly number[], cache: SequenceCache): Promise<Float32Array> {
  return rowsInChunks(lm, ids, positionsOf(ids), cache, PROMPT_CHUNK);
}

/** The last row and the k best ids of each row from `from` on, through the model's in-graph heads (lm.forwardLast). */
export function prefillLast(lm: LanguageModel, ids: readonly number[], cache: SequenceCache, k: number, from = 0): Promise<LastRows> {
  return lastInChunks(lm, ids, positionsOf(ids), cache, k, PROMPT_CHUNK, NOTHING, from);
}
