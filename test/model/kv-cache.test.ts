import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { generatePlain } from "../../src/decode/generate.ts";
import { argmax } from "../../src/decode/sampler.ts";
import type { OrtModule } from "../../src/host.ts";
import { KvCache } from "../../src/model/kv-cache.ts";
import { referenceModel } from "../helpers/model.ts";

/** A cache whose value at (layer l, key/value t, head h, position p, dim d) encodes its coordinates exactly. */
function syntheticCache(layers: number, heads: number, len: number, dim: number): KvCache {
  const c = new KvCache(ort as unknown as OrtModule, layers, heads, dim);
  const out: Record<string, ort.Tensor> = {};
  for (let l = 0; l < layers; l++) {
    for (const [kv, t] of [["key", 0], ["value", 1]] as const) {
      const data = new Float32Array(heads * len * dim);
      for (let h = 0; h < heads; h++) for (let p = 0; p < len; p++) for (let d = 0; d < dim; d++) data[(h * len + p) * dim + d] = l * 4096 + t * 2048 + h * 256 + p + d / 8;
      out[`present.${l}.${kv}`] = new ort.Tensor("float32", data, [1, heads, len, dim]);
    }
  }
  c.update(out);
  return c;
}

describe("KvCache", () => {
  test("keep() moves exactly the chosen positions, per head, in order", () => {
    const c = syntheticCache(2, 3, 10, 4);
    const keep = [0, 1, 2, 5, 7, 8];
    c.keep(keep);
    expect(c.length).toBe(6);
    const feeds: Record<string, ort.Tensor> = {};
    c.feeds(feeds);
    const t = feeds["past_key_values.1.value"]!;
    expect(t.dims).toEqual([1, 3, 6, 4]);
    const data = t.data as Float32Array;
    for (let h = 0; h < 3; h++) for (let i = 0; i < keep.length; i++) for (let d = 0; d < 4; d++) {
      expect(data[(h * 6 + i) * 4 + d]).toBe(1 * 4096 + 1 * 2048 + h * 256 + keep[i]! + d / 8);
    }
  });

  test("truncate and keep reject impossible requests with a clear error", () => {
    const c = syntheticCache(1, 1, 5, 2);
    expect(() => c.truncate(6)).toThrow(/cannot truncate/);
    expect(() => c.keep([0, 2, 2])).toThrow(/increasing/);
    expect(() => c.keep([0, 5])).toThrow(/increasing and < 5/);
  });

  test("decoding after a rollback gives the tokens decoding without it gives", async () => {
    const m = await referenceModel("fp32");
    const { lm, tokenizer } = m;
    const V = lm.spec.vocabSize;
    const prompt = tokenizer.encode("class Stack:\n    def __init__(self):\n", true);
    const plain = await generatePlain(m, prompt, { maxTokens: 16 });

    const cache = lm.newCache();
    let logits = await lm.forward(prompt, prompt.map((_, i) => i), cache);
    let next = argmax(logits, (prompt.length - 1) * V, V);
    const got: number[] = [];
    for (let step = 0; step < 16; step++) {
      got.push(next);
      const base = cache.length;
      // Feed junk that speculative decoding would reject, then roll it back.
      await lm.forward([7, 8, 9], [base, base + 1, base + 2], cache);
      cache.truncate(base);
      logits = await lm.forward([next], [base], cache);
      next = argmax(logits, 0, V);
    }
    expect(got).toEqual(plain.tokens);
  });
});
