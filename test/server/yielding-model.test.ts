/**
 * The server's model view (src/server/yielding-model.ts): a long prompt's prefill runs in chunks
 * with the event loop let in between, and gives what one forward gives.
 */
import { describe, expect, test } from "bun:test";
import prompts from "../../bench/prompts.json";
import { generatePlain } from "../../src/decode/plain.ts";
import { PREFILL_CHUNK, yielding } from "../../src/server/yielding-model.ts";
import { referenceModel } from "../helpers/model.ts";

describe("yielding model view", () => {
  test("a long prefill runs in chunks, the event loop turns between them, and the rows equal one forward's", async () => {
    const m = await referenceModel("fp32");
    const view = yielding(m);
    const ids = m.tokenizer.encode(prompts.prompts.map((p) => p.prompt).join("\n"), true).slice(0, 4 * PREFILL_CHUNK + 9);
    let calls = 0;
    const counting = { ...m, lm: { ...m.lm, spec: m.lm.spec, info: m.lm.info, newCache: () => m.lm.newCache(), dispose: () => m.lm.dispose(), forward: (...a: Parameters<typeof m.lm.forward>) => (calls++, m.lm.forward(...a)) } };
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const chunked = await yielding(counting).lm.forward(ids, ids.map((_, i) => i), m.lm.newCache());
    spinning = false;
    expect(calls).toBe(5);
    expect(turns).toBeGreaterThanOrEqual(4); // the loop ran between the chunks
    const whole = await m.lm.forward(ids, ids.map((_, i) => i), m.lm.newCache());
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - chunked[i]!));
    expect(worst).toBeLessThan(1e-4);
    // And greedy decoding after it is the same.
    const a = await generatePlain(view, ids, { maxTokens: 16 });
    const b = await generatePlain(m, ids, { maxTokens: 16 });
    expect(a.tokens).toEqual(b.tokens);
  });

  test("a model that reads back ids only keeps that read-back through the view", async () => {
    const m = await referenceModel("fp32");
    expect(yielding(m).lm.forwardTop).toBeDefined(); // the graph's argmax and top-k heads, on wasm too
    const seen: number[][] = [];
    const top = async (tokens: ArrayLike<number>) => (seen.push(Array.from(tokens)), { argmax: new Int32Array(tokens.length) });
    const gpuLike = { ...m, lm: { ...m.lm, spec: m.lm.spec, info: m.lm.info, newCache: () => m.lm.newCache(), dispose: () => m.lm.dispose(), forward: m.lm.forward.bind(m.lm), forwardTop: top } };
    const view = yielding(gpuLike).lm;
    expect(view.forwardTop).toBeDefined();
    await view.forwardTop!([5, 6], [0, 1], m.lm.newCache(), false);
    expect(seen).toEqual([[5, 6]]);
  });
});
