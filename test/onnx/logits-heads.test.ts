/**
 * The last-row and top-k outputs (src/onnx/logits-heads.ts): a prefill through `forwardLast`
 * gives the last row and the candidates that reading every row in JS gives, on every backend and
 * dtype the loader rewrites, and leaves the cache as `forward` does.
 */
import { describe, expect, test } from "bun:test";
import prompts from "../../bench/prompts.json";
import { topKRows } from "../../src/engine/verify.ts";
import { TOP_K } from "../../src/onnx/logits-heads.ts";
import { referenceModel } from "../helpers/model.ts";

/**
 * The same candidates in the same order, except that ids of exactly equal logits (frequent in
 * float16) may come in either order: onnxruntime's TopK does not promise the JS scan's lowest-id-
 * first there, and either order is a ranking of the same values.
 */
function sameRanking(got: Int32Array, want: Int32Array, logits: Float32Array, V: number, k: number): void {
  expect(got.length).toBe(want.length);
  for (let r = 0; r < got.length / k; r++) {
    const value = (id: number) => logits[r * V + id]!;
    const g = Array.from(got.subarray(r * k, r * k + k));
    const w = Array.from(want.subarray(r * k, r * k + k));
    expect(g.map(value)).toEqual(w.map(value));
    g.forEach((id, j) => {
      if (w.filter((x) => value(x) === value(id)).length === 1) expect(id).toBe(w[j]!);
    });
  }
}

const CASES = [["fp32", "wasm"], ["fp16", "wasm"], ["q4", "wasm"], ["fp32", "cpu"]] as const;

describe("in-graph logits heads", () => {
  for (const [dtype, device] of CASES) {
    test(`${dtype} on ${device}: forwardLast = forward's last row and JS top-k of every row; the cache the same`, async () => {
      const m = await referenceModel(dtype, device);
      const { lm } = m;
      expect(lm.forwardLast).toBeDefined();
      const V = lm.spec.vocabSize;
      const ids = m.tokenizer.encode(prompts.prompts[3]!.prompt, true).slice(0, 150);
      const pos = ids.map((_, i) => i);
      const [a, b] = [lm.newCache(), lm.newCache()];
      const all = await lm.forward(ids, pos, a);
      const r = await lm.forwardLast!(ids, pos, b, TOP_K);
      expect(Array.from(r.last)).toEqual(Array.from(all.subarray((ids.length - 1) * V)));
      sameRanking(r.topK, topKRows(all, ids.length, V, TOP_K), all, V, TOP_K);
      // No candidates: the last row alone is projected (logits-rows.ts), and it is the same row.
      const none = await lm.forwardLast!(ids, pos, lm.newCache(), 0);
      expect(Array.from(none.last)).toEqual(Array.from(r.last));
      expect(none.topK.length).toBe(0);
      // Candidates from row 100 on: those rows' (and the same last row).
      const tail = await lm.forwardLast!(ids, pos, lm.newCache(), TOP_K, 100);
      expect(Array.from(tail.last)).toEqual(Array.from(r.last));
      sameRanking(tail.topK, topKRows(all.subarray(100 * V), ids.length - 100, V, TOP_K), all.subarray(100 * V), V, TOP_K);
      await expect(lm.forwardLast!(ids, pos, lm.newCache(), TOP_K, ids.length)).rejects.toThrow(/first candidate row/);
      // Fewer candidates: a prefix of each row's.
      const three = await lm.forwardLast!(ids, pos, lm.newCache(), 3);
      sameRanking(three.topK, topKRows(all, ids.length, V, 3), all, V, 3);
      // The next step reads both caches alike.
      const next = [ids.at(-1)!];
      expect(Array.from(await lm.forward(next, [ids.length], b))).toEqual(Array.from(await lm.forward(next, [ids.length], a)));
      await expect(lm.forwardLast!(ids, pos, lm.newCache(), TOP_K + 1)).rejects.toThrow(/candidates per row/);
    });
  }
});
