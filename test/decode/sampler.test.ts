import { describe, expect, test } from "bun:test";
import { Rng } from "../../src/decode/rng.ts";
import { RankedRow } from "../../src/decode/ranked-row.ts";
import { argmax, Sampler } from "../../src/decode/sampler.ts";
import { topKRows } from "../../src/engine/verify.ts";

const logits = Float32Array.from([1, 3, 2, 0.5, 3, -1]);

describe("Sampler", () => {
  test("temperature 0 is argmax (first of ties)", () => {
    expect(new Sampler({ temperature: 0 }).pick(logits, 0, 6)).toBe(1);
    expect(argmax(logits, 2, 3)).toBe(2); // the row [2, 0.5, 3]
  });

  test("top_p 0 keeps the most likely token alone: greedy at any temperature (argmax, first of ties, no draw)", () => {
    const s = new Sampler({ temperature: 1.5, topP: 0, seed: 5 });
    expect(s.greedy).toBe(true);
    expect(s.rawArgmax).toBe(true); // a model's own argmax read-back may choose, as for temperature 0
    expect(s.pick(logits, 0, 6)).toBe(1);
    const rng = new Rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const row = Float32Array.from({ length: 40 }, () => rng.next() * 4);
      expect(s.pick(row, 0, 40)).toBe(argmax(row));
    }
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

  test("top-k then top-p: top-p's mass is taken over the top-k survivors, renormalised", () => {
    // Unnormalised probabilities: the top 4 hold 0.7 of the mass; 6 tokens share the rest.
    const p = [0.35, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05];
    const row = Float32Array.from(p.map(Math.log));
    const d = new Sampler({ temperature: 1, topK: 4, topP: 0.8, seed: 1 }).distribution(row, 0, p.length);
    // Over the survivors: 0.5, 0.286, 0.143, 0.071 -> 0.8 is reached with 3 tokens (over the whole
    // vocabulary it would take 7, clipped to 4 by top-k).
    expect(d.size).toBe(3);
    expect([...d.ids.subarray(0, 3)]).toEqual([0, 1, 2]);
    const kept = 0.35 + 0.2 + 0.1;
    for (let i = 0; i < 3; i++) expect(d.probs[i]!).toBeCloseTo(p[i]! / kept, 6);
  });

  test("the processed distribution equals a direct computation for many random rows and settings", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const V = 5 + Math.floor(rng.next() * 40);
      const row = Float32Array.from({ length: V }, () => (rng.next() - 0.5) * 8);
      const temperature = 0.3 + rng.next() * 1.7;
      const topK = Math.floor(rng.next() * (V + 2)); // 0 (off) .. past V
      const topP = rng.next() < 0.3 ? 1 : 0.05 + rng.next() * 0.95;
      const d = new Sampler({ temperature, topK, topP, seed: 1 }).distribution(row, 0, V);
      // Reference: softmax(row / T), sort (ties by id), keep k, renormalise, keep the smallest
      // prefix reaching p, renormalise.
      const w = [...row].map((x) => Math.exp(x / temperature));
      let order = w.map((_, i) => i).sort((a, b) => w[b]! - w[a]! || a - b);
      if (topK > 0) order = order.slice(0, topK);
      let mass = order.reduce((a, i) => a + w[i]!, 0);
      if (topP < 1) {
        let acc = 0;
        let n = order.length;
        for (let i = 0; i < order.length; i++) {
          acc += w[order[i]!]! / mass;
          if (acc >= topP) {
            n = i + 1;
            break;
          }
        }
        order = order.slice(0, n);
        mass = order.reduce((a, i) => a + w[i]!, 0);
      }
      expect(d.size).toBe(order.length);
      expect([...d.ids.subarray(0, d.size)]).toEqual(order);
      for (let i = 0; i < d.size; i++) expect(Math.abs(d.probs[i]! - w[order[i]!]! / mass)).toBeLessThan(1e-6);
    }
  });

  test("ranked rows: the same order as sorting the whole row (weight descending, ties by id), heavy tails and ties included", () => {
    const rng = new Rng(5);
    const row = new RankedRow();
    for (const [vocab, spread] of [[50, 1], [3000, 12], [20000, 30], [20000, 0]] as const) {
      // spread 0: every logit equal (all ties); large spreads put most tokens in the unsorted tail.
      const l = Float32Array.from({ length: vocab }, () => Math.round(rng.next() * spread * 4) / 4 - spread);
      row.load(l, 0, vocab, 0.7);
      const top = l.reduce((a, b) => Math.max(a, b), -Infinity);
      const w = Array.from(l, (x) => Math.exp((x - top) / 0.7));
      const want = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => w[b]! - w[a]! || a - b);
      const got = Array.from({ length: vocab }, (_, r) => row.at(r));
      expect(got).toEqual(want);
      // Asked out of order (a deep rank first, then jumps), the ranks are the same.
      row.load(l, 0, vocab, 0.7);
      for (const r of [vocab - 1, 70, 3, Math.floor(vocab / 2), 200, 0].filter((r) => r < vocab)) expect(row.at(r)).toBe(want[r]!);
      expect(() => row.at(vocab)).toThrow(RangeError);
      expect(row.sumFirst(vocab)).toBeCloseTo(w.reduce((a, b) => a + b, 0), 8);
    }
  });

  test("pick draws exactly what draw(distribution()) draws from the same state, tails and truncation included", () => {
    const rng = new Rng(9);
    const settings = [{}, { topK: 40 }, { topP: 0.9 }, { minP: 0.05 }, { topK: 3000, topP: 0.999 }, { minP: 1e-9 }];
    let tailDraws = 0;
    for (const [i, extra] of settings.entries()) {
      for (const [vocab, spread, temperature] of [[64, 3, 1], [4096, 20, 0.8], [4096, 40, 1.5]] as const) {
        const fast = new Sampler({ temperature, seed: i + 1, ...extra });
        const reference = new Sampler({ temperature, seed: i + 1, ...extra });
        for (let d = 0; d < 40; d++) {
          const l = Float32Array.from({ length: vocab }, () => (rng.next() - 0.5) * spread);
          const want = reference.draw(reference.distribution(l, 0, vocab));
          expect(fast.pick(l, 0, vocab)).toBe(want);
        }
      }
    }
    // A row whose tail (weights under 2^-20 of the top) holds a tenth of the mass: draws land there.
    const vocab = 1 << 17;
    const l = new Float32Array(vocab).fill(-13.9);
    l[7] = 0;
    const fast = new Sampler({ temperature: 1, seed: 3 });
    const reference = new Sampler({ temperature: 1, seed: 3 });
    for (let d = 0; d < 100; d++) {
      const want = reference.draw(reference.distribution(l, 0, vocab));
      if (want !== 7) tailDraws++;
      expect(fast.pick(l, 0, vocab)).toBe(want);
    }
    expect(tailDraws).toBeGreaterThan(3); // ~11 expected
  });

  test("top_k 1 is greedy at any temperature, whatever the seed", () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 50; trial++) {
      const row = Float32Array.from({ length: 64 }, () => rng.next() * 10);
      const s = new Sampler({ temperature: 2, topK: 1, seed: trial });
      for (let i = 0; i < 5; i++) expect(s.pick(row, 0, 64)).toBe(argmax(row));
    }
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
    expect(() => new Sampler({ topP: -0.1 })).toThrow(/top_p/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/top_k/);
  });
});
