/**
 * Verifying from the rows' argmax ids (what a GPU-resident model reads back) instead of the logits:
 * the same verdict as the logits walk whenever decoding is greedy on raw logits, and decoding takes
 * that path only then (decode/plain.ts `choosesFromIds`).
 */
import { describe, expect, test } from "bun:test";
import { choosesFromIds } from "../../src/decode/plain.ts";
import { Rng } from "../../src/decode/rng.ts";
import { Sampler } from "../../src/decode/sampler.ts";
import type { DraftTree } from "../../src/drafters/types.ts";
import { topKRows, topPrefix, verifyTree, verifyTreeArgmax } from "../../src/engine/verify.ts";
import type { LanguageModel } from "../../src/model/causal-lm.ts";

/** A random tree of `n` nodes over a small alphabet (parents before children). */
function randomTree(rng: Rng, n: number, alphabet: number): DraftTree {
  const parents = new Int32Array(n);
  const tokens = new Int32Array(n);
  const depths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    parents[i] = Math.floor(rng.next() * (i + 1)) - 1;
    tokens[i] = Math.floor(rng.next() * alphabet);
    depths[i] = parents[i]! < 0 ? 1 : depths[parents[i]!]! + 1;
  }
  return { size: n, parents, tokens, depths };
}

describe("verification from top ids", () => {
  test("the same path and bonus as the logits walk, greedy, over random trees and rows with ties", () => {
    const rng = new Rng(11);
    const V = 6;
    let descended = 0;
    for (let round = 0; round < 400; round++) {
      const tree = randomTree(rng, 1 + Math.floor(rng.next() * 12), V);
      // Logits on a coarse grid, so exact ties are common (the lowest id wins both ways).
      const logits = Float32Array.from({ length: (tree.size + 1) * V }, () => Math.floor(rng.next() * 3));
      const expected = verifyTree(tree, logits, V, new Sampler({ temperature: 0 }));
      const argmax = topKRows(logits, tree.size + 1, V, 1);
      expect(verifyTreeArgmax(tree, argmax)).toEqual(expected);
      descended += expected.path.length;
    }
    expect(descended).toBeGreaterThan(100);
  });

  test("topPrefix keeps each row's first k ids", () => {
    const top = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(topPrefix(top, 2, 4, 2))).toEqual([1, 2, 5, 6]);
    expect(topPrefix(top, 2, 4, 4)).toBe(top);
  });

  test("decoding reads ids only when greedy on raw logits, with no logprobs, on a model that offers them", () => {
    const offers = { forwardTop: async () => ({ argmax: new Int32Array(0) }) } as unknown as LanguageModel;
    const lacks = {} as LanguageModel;
    expect(choosesFromIds(offers, new Sampler({ temperature: 0 }), undefined)).toBe(true);
    expect(choosesFromIds(lacks, new Sampler({ temperature: 0 }), undefined)).toBe(false);
    expect(choosesFromIds(offers, new Sampler({ temperature: 0 }), 2)).toBe(false);
    expect(choosesFromIds(offers, new Sampler({ temperature: 0.7, seed: 1 }), undefined)).toBe(false);
    for (const penalty of [{ repetitionPenalty: 1.2 }, { presencePenalty: 0.5 }, { frequencyPenalty: 0.5 }, { logitBias: { 3: 5 } }]) {
      expect(choosesFromIds(offers, new Sampler({ temperature: 0, ...penalty }), undefined)).toBe(false);
    }
  });
});
