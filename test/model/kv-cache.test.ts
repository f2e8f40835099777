import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { generatePlain } from "../../src/decode/plain.ts";
import { argmax } from "../../src/decode/sampler.ts";
import type { OrtModule } from "../../src/host.ts";
import { AppendKvCache, KvBufferPool, WholeKvCache } from "../../src/model/kv-cache.ts";
import { referenceModel } from "../helpers/model.ts";

/**
 * A cache whose value at (layer l, key/value t, position p, head h, dim d) encodes its coordinates
 * exactly, filled by appending `len` positions in steps of `step` (as forwards would).
 */
function syntheticCache(layers: number, heads: number, len: number, dim: number, step = len, pool?: KvBufferPool, shift = 0): AppendKvCache {
  const c = new AppendKvCache(ort as unknown as OrtModule, layers, heads, dim, "float32", pool);
  for (let from = 0; from < len; from += step) {
    const n = Math.min(step, len - from);
    const out: Record<string, ort.Tensor> = {};
    for (let l = 0; l < layers; l++) {
      for (const [kv, t] of [["key", 0], ["value", 1]] as const) {
        const data = new Float32Array(n * heads * dim);
        for (let i = 0; i < n; i++) for (let h = 0; h < heads; h++) for (let d = 0; d < dim; d++) data[(i * heads + h) * dim + d] = code(l, t, from + i, h, d) + shift;
        out[`present.${l}.${kv}`] = new ort.Tensor("float32", data, [1, n, heads, dim]);
      }
    }
    c.update(out);
  }
  return c;
}

/** Bytes of the buffer behind a cache's first key input (which set of buffers it was given). */
function keyBufferBytes(c: AppendKvCache): number {
  const feeds: Record<string, ort.Tensor> = {};
  c.feeds(feeds);
  return (feeds["past_key_values.0.key"]!.data as Float32Array).buffer.byteLength;
}

const code = (l: number, t: number, p: number, h: number, d: number) => l * 65536 + t * 32768 + p * 16 + h + d / 8;

describe("KvCache", () => {
  test("appends across many steps (growing past its first capacity) and feeds sequence-major views", () => {
    const c = syntheticCache(2, 3, 700, 4, 37);
    expect(c.length).toBe(700);
    const feeds: Record<string, ort.Tensor> = {};
    c.feeds(feeds);
    const t = feeds["past_key_values.1.key"]!;
    expect(t.dims).toEqual([1, 700, 3, 4]);
    const data = t.data as Float32Array;
    expect(data.length).toBe(700 * 3 * 4);
    for (const p of [0, 36, 37, 255, 256, 699]) for (let h = 0; h < 3; h++) expect(data[(p * 3 + h) * 4 + 3]).toBe(code(1, 0, p, h, 3));
  });

  test("keep() moves exactly the chosen positions, every head, in order", () => {
    const c = syntheticCache(2, 3, 10, 4);
    const keep = [0, 1, 2, 5, 7, 8];
    c.keep(keep);
    expect(c.length).toBe(6);
    const feeds: Record<string, ort.Tensor> = {};
    c.feeds(feeds);
    const t = feeds["past_key_values.1.value"]!;
    expect(t.dims).toEqual([1, 6, 3, 4]);
    const data = t.data as Float32Array;
    for (let i = 0; i < keep.length; i++) for (let h = 0; h < 3; h++) for (let d = 0; d < 4; d++) {
      expect(data[(i * 3 + h) * 4 + d]).toBe(code(1, 1, keep[i]!, h, d));
    }
  });

  test("a step after a rollback appends right after the kept positions", () => {
    const c = syntheticCache(1, 2, 8, 2);
    c.truncate(5);
    const out: Record<string, ort.Tensor> = {
      "present.0.key": new ort.Tensor("float32", new Float32Array(4).fill(-1), [1, 1, 2, 2]),
      "present.0.value": new ort.Tensor("float32", new Float32Array(4).fill(-2), [1, 1, 2, 2]),
    };
    c.update(out);
    expect(c.length).toBe(6);
    const feeds: Record<string, ort.Tensor> = {};
    c.feeds(feeds);
    const k = feeds["past_key_values.0.key"]!.data as Float32Array;
    expect(Array.from(k.subarray(4 * 4, 6 * 4))).toEqual([code(0, 0, 4, 0, 0), code(0, 0, 4, 0, 1), code(0, 0, 4, 1, 0), code(0, 0, 4, 1, 1), -1, -1, -1, -1]);
  });

  test("a present output of the wrong shape is a clear error, not a corrupt cache", () => {
    const c = syntheticCache(1, 2, 3, 2);
    const bad = { "present.0.key": new ort.Tensor("float32", new Float32Array(6), [1, 3, 1, 2]), "present.0.value": new ort.Tensor("float32", new Float32Array(6), [1, 3, 1, 2]) };
    expect(() => c.update(bad)).toThrow(/expected \[1, 3, 2, 2\]/);
  });

  test("the export's own I/O (whole): keep() moves exactly the chosen positions, per head, in order", () => {
    const c = new WholeKvCache(ort as unknown as OrtModule, 2, 3, 4);
    const out: Record<string, ort.Tensor> = {};
    for (let l = 0; l < 2; l++) {
      for (const [kv, t] of [["key", 0], ["value", 1]] as const) {
        const data = new Float32Array(3 * 10 * 4);
        for (let h = 0; h < 3; h++) for (let p = 0; p < 10; p++) for (let d = 0; d < 4; d++) data[(h * 10 + p) * 4 + d] = code(l, t, p, h, d);
        out[`present.${l}.${kv}`] = new ort.Tensor("float32", data, [1, 3, 10, 4]);
      }
    }
    c.update(out);
    const keep = [0, 1, 2, 5, 7, 8];
    c.keep(keep);
    const feeds: Record<string, ort.Tensor> = {};
    c.feeds(feeds);
    const t = feeds["past_key_values.1.value"]!;
    expect(t.dims).toEqual([1, 3, 6, 4]);
    const data = t.data as Float32Array;
    for (let h = 0; h < 3; h++) for (let i = 0; i < keep.length; i++) for (let d = 0; d < 4; d++) expect(data[(h * 6 + i) * 4 + d]).toBe(code(1, 1, keep[i]!, h, d));
    expect(() => c.keep([0, 7])).toThrow(/increasing and < 6/);
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

  test("a released cache's buffers serve the next cache of its pool, which starts empty and holds only its own positions", () => {
    const pool = new KvBufferPool();
    const first = syntheticCache(2, 3, 300, 4, 50, pool);
    const seen: Record<string, ort.Tensor> = {};
    first.feeds(seen);
    first.release();
    expect(pool.size).toBe(1);
    const second = syntheticCache(2, 3, 20, 4, 7, pool, 0.5);
    expect(pool.size).toBe(0);
    const feeds: Record<string, ort.Tensor> = {};
    second.feeds(feeds);
    const data = feeds["past_key_values.1.key"]!.data as Float32Array;
    // The same memory, now the second cache's: its 20 positions, none of the first's 300.
    expect(data.buffer).toBe((seen["past_key_values.1.key"]!.data as Float32Array).buffer);
    expect(feeds["past_key_values.1.key"]!.dims).toEqual([1, 20, 3, 4]);
    for (let p = 0; p < 20; p++) for (let h = 0; h < 3; h++) expect(data[(p * 3 + h) * 4 + 1]).toBe(code(1, 0, p, h, 1) + 0.5);
    // A set only serves a cache it fits: layers, elements per position, element type.
    syntheticCache(2, 3, 300, 4, 50, pool).release();
    expect(pool.size).toBe(1);
    const other = syntheticCache(1, 3, 5, 4, 5, pool);
    const f16 = new AppendKvCache(ort as unknown as OrtModule, 2, 3, 4, "float16", pool);
    expect(pool.size).toBe(1);
    expect(other.length).toBe(5);
    expect(f16.length).toBe(0);
  });

  test("a released cache refuses to be used again (its buffers may be another request's now)", () => {
    const pool = new KvBufferPool();
    const c = syntheticCache(1, 2, 8, 2, 8, pool);
    c.release();
    c.release();
    expect(pool.size).toBe(1);
    expect(() => c.feeds({})).toThrow(/released/);
    expect(() => c.truncate(0)).toThrow(/released/);
    expect(() => c.keep([0])).toThrow(/released/);
    expect(() => c.update({})).toThrow(/released/);
  });

  test("the pool keeps the largest sets, at most as many as it was made for", () => {
    const pool = new KvBufferPool(2);
    // Three at once (each takes nothing: the pool is empty), then all released.
    const three = [10, 600, 300].map((len) => syntheticCache(1, 1, len, 2, len, pool));
    for (const c of three) c.release();
    expect(pool.size).toBe(2);
    // 600 positions grew the buffers to 1024; 300 to 512; 10 (256) was dropped.
    expect(keyBufferBytes(syntheticCache(1, 1, 1, 2, 1, pool))).toBe(1024 * 2 * 4);
    // And no more bytes than it was made for: a set over the cap is let go.
    const capped = new KvBufferPool(2, 20 * 1024);
    // Sets of 16 KiB (1024 positions x 2 floats, key and value) and 8 KiB: both would be 24.
    const caches = [600, 300].map((len) => syntheticCache(1, 1, len, 2, len, capped));
    for (const c of caches) c.release();
    expect(capped.size).toBe(1);
    expect(keyBufferBytes(syntheticCache(1, 1, 1, 2, 1, capped))).toBe(1024 * 2 * 4);
  });

  test("generations one after another on the same model (caches reused) give what fresh caches give", async () => {
    const m = await referenceModel("fp32");
    const long = m.tokenizer.encode("import os\nimport sys\n\n\ndef main(argv):\n    for name in argv[1:]:\n        with open(name) as f:\n            print(f.read())\n", true);
    const short = m.tokenizer.encode("def add(a, b):\n", true);
    const first = [await generatePlain(m, long, { maxTokens: 24 }), await generatePlain(m, short, { maxTokens: 24 })];
    const again = [await generatePlain(m, short, { maxTokens: 24 }), await generatePlain(m, long, { maxTokens: 24 })];
    expect(again[0]!.tokens).toEqual(first[1]!.tokens);
    expect(again[1]!.tokens).toEqual(first[0]!.tokens);
    // Against a cache with no pool at all: a plain greedy loop on a fresh AppendKvCache.
    const { lm } = m;
    const V = lm.spec.vocabSize;
    const fresh = new AppendKvCache(ort as unknown as OrtModule, lm.spec.numLayers, lm.spec.numKvHeads, lm.spec.headDim);
    let logits = await lm.forward(short, short.map((_, i) => i), fresh);
    let next = argmax(logits, (short.length - 1) * V, V);
    const got: number[] = [];
    for (let i = 0; i < 24; i++) {
      got.push(next);
      logits = await lm.forward([next], [fresh.length], fresh);
      next = argmax(logits, 0, V);
    }
    expect(got).toEqual(first[1]!.tokens);
  });

  test("a packed output (every layer's new positions in one tensor, key before value) appends as the per-layer outputs do", () => {
    const [layers, heads, dim] = [2, 3, 4];
    const perLayer = syntheticCache(layers, heads, 7, dim, 3);
    const packed = new AppendKvCache(ort as unknown as OrtModule, layers, heads, dim);
    for (let from = 0; from < 7; from += 3) {
      const n = Math.min(3, 7 - from);
      const data = new Float32Array(2 * layers * n * heads * dim);
      for (let l = 0; l < layers; l++) for (let t = 0; t < 2; t++) for (let i = 0; i < n; i++) for (let h = 0; h < heads; h++) for (let d = 0; d < dim; d++) {
        data[((((2 * l + t) * n + i) * heads + h) * dim) + d] = code(l, t, from + i, h, d);
      }
      packed.update({ edgespec_present: new ort.Tensor("float32", data, [2 * layers, n, heads, dim]) });
    }
    const [a, b]: Record<string, ort.Tensor>[] = [{}, {}];
    perLayer.feeds(a);
    packed.feeds(b);
    for (const name of Object.keys(a)) expect(Array.from(b[name]!.data as Float32Array)).toEqual(Array.from(a[name]!.data as Float32Array));
    expect(() => packed.update({ edgespec_present: new ort.Tensor("float32", new Float32Array(2 * 1 * 3 * 4), [2, 1, 3, 4]) })).toThrow(/edgespec_present has dims \[2,1,3,4\], expected \[4, added, 3, 4\]/);
  });
});
