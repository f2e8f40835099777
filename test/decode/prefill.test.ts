/**
 * Prompts are prefilled in chunks (src/decode/prefill.ts): the rows, the last row and each row's
 * best ids are one forward's, within float rounding, and the chunks are PROMPT_CHUNK tokens.
 */
import { describe, expect, test } from "bun:test";
import prompts from "../../bench/prompts.json";
import { PROMPT_CHUNK, prefillLast, prefillRows } from "../../src/decode/prefill.ts";
import { referenceModel } from "../helpers/model.ts";

describe("chunked prefill", () => {
  test("a prompt over two chunks long: rows, last row and top ids equal one forward's", async () => {
    const m = await referenceModel("fp32");
    const { lm } = m;
    const V = lm.spec.vocabSize;
    const ids = m.tokenizer.encode(prompts.prompts.map((p) => p.prompt).join("\n"), true).slice(0, 2 * PROMPT_CHUNK + 37);
    const whole = await lm.forward(ids, ids.map((_, i) => i), lm.newCache());
    const sizes: number[] = [];
    const counting = { ...lm, spec: lm.spec, info: lm.info, newCache: () => lm.newCache(), forward: (t: ArrayLike<number>, p: ArrayLike<number>, c: Parameters<typeof lm.forward>[2]) => (sizes.push(t.length), lm.forward(t, p, c)) };
    const rows = await prefillRows(counting, ids, lm.newCache());
    expect(sizes).toEqual([PROMPT_CHUNK, PROMPT_CHUNK, 37]);
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - rows[i]!));
    expect(worst).toBeLessThan(1e-4);
    const last = await prefillLast(lm, ids, lm.newCache(), 4);
    for (let v = 0; v < V; v++) expect(Math.abs(last.last[v]! - whole[(ids.length - 1) * V + v]!)).toBeLessThan(1e-4);
    // Each row's best id is the whole forward's argmax wherever the top two are not a near tie.
    let checked = 0;
    for (let r = 0; r < ids.length; r++) {
      const row = whole.subarray(r * V, r * V + V);
      const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!);
      if (row[order[0]!]! - row[order[1]!]! < 1e-3) continue;
      expect(last.topK[r * 4]).toBe(order[0]!);
      checked++;
    }
    expect(checked).toBeGreaterThan(ids.length * 0.9);
  });

  test("candidates from a row inside the second chunk on: the same ids as every row's, for those rows only; earlier chunks ask for none", async () => {
    const m = await referenceModel("fp32");
    const { lm } = m;
    const ids = m.tokenizer.encode(prompts.prompts.map((p) => p.prompt).join("\n"), true).slice(0, 2 * PROMPT_CHUNK + 37);
    const every = await prefillLast(lm, ids, lm.newCache(), 4);
    const calls: [number, number, number | undefined][] = [];
    const counting = { ...lm, spec: lm.spec, info: lm.info, newCache: () => lm.newCache(), forwardLast: (t: ArrayLike<number>, p: ArrayLike<number>, c: Parameters<typeof lm.forward>[2], k: number, from?: number) => (calls.push([t.length, k, from]), lm.forwardLast!(t, p, c, k, from)) };
    const from = PROMPT_CHUNK + 100;
    const some = await prefillLast(counting, ids, lm.newCache(), 4, from);
    expect(calls).toEqual([[PROMPT_CHUNK, 0, 0], [PROMPT_CHUNK, 4, 100], [37, 4, 0]]);
    expect(Array.from(some.topK)).toEqual(Array.from(every.topK.subarray(from * 4)));
    expect(Array.from(some.last)).toEqual(Array.from(every.last));
  });
});
