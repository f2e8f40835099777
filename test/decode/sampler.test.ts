import { describe, expect, test } from "bun:test";
import { Rng } from "../../src/decode/rng.ts";
import { argmax, Sampler } from "../../src/decode/sampler.ts";
import { topKRows } from "../../src/engine/verify.ts";

const logits = Float32Array.from([1, 3, 2, 0.5, 3, -1]);

describe("Sampler", () => {
  test("temperature 0 is argmax (first of ties)", () => {
    expect(new Sampler({ temperature: 0 }).pick(logits, 0, 6)).toBe(1);
    expect(argmax(logits, 2, 3)).toBe(2); // the row [2, 0.5, 3]
  });

  test("topKRows orders each row best first, ties by lower id", () => {
    expect([...topKRows(logits, 2, 3, 2)]).toEqual([1, 2, 1, 0]); // rows [1,3,2] and [0.5,3,-1]
    expect([...topKRows(logits, 1, 6, 3)]).toEqual([1, 4, 2]);
  });

  test("the processed distribution is softmax(logits / T), truncated by top-k and top-p", () => {
    const full = new Sampler({ temperature: 2, seed: 1 }).distribution(logits, 0, 6);
    const z = [...logits].map((x) => Math.exp(x / 2));
    const sum = z.reduce((a, b) => a + b);
    expect(full.size).toBe(6);
    for (let i = 0; i < 6; i++) expect(full.probs[i]).toBeCloseTo(z[full.ids[i]!]! / sum, 6);
    const k2 = new Sampler({ temperature: 1, topK: 2, seed: 1 }).distribution(logits, 0, 6);
    expect(k2.size).toBe(2);
    expect([...k2.ids.subarray(0, 2)]).toEqual([1, 4]);
    expect(k2.probs[0]! + k2.probs[1]!).toBeCloseTo(1, 6);
    const p = new Sampler({ temperature: 1, topP: 0.5, seed: 1 }).distribution(logits, 0, 6);
    expect(p.size).toBe(2); // 3 and 3 share ~0.62 of the mass, one alone has ~0.31 < 0.5
  });

  test("draws follow the distribution (seeded, 20k draws, within 1.5% each)", () => {
    const s = new Sampler({ temperature: 1, seed: 42 });
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 20000; i++) counts[s.pick(logits, 0, 6)]++;
    const z = [...logits].map((x) => Math.exp(x));
    const sum = z.reduce((a, b) => a + b);
    for (let i = 0; i < 6; i++) expect(Math.abs(counts[i] / 20000 - z[i]! / sum)).toBeLessThan(0.015);
  });

  test("the same seed gives the same draws; another seed does not", () => {
    const draw = (seed: number) => {
      const s = new Sampler({ temperature: 1, seed });
      return Array.from({ length: 50 }, () => s.pick(logits, 0, 6));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(new Rng(3).nextUint32()).toBe(new Rng(3).nextUint32());
  });

  test("bad options are clear errors", () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler({ temperature: Number.NaN })).toThrow(/temperature/);
    expect(() => new Sampler({ topP: 0 })).toThrow(/top_p/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/top_k/);
  });
});
