import { beforeAll, describe, expect, test } from "bun:test";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { NgramDrafter, ngramPropose } from "../../src/drafters/ngram.ts";
import { checkTree, kernelSets, randomStream, realStreams, repetitiveStream, Rng } from "./helpers.ts";

let sets: KernelSet[] = [];
beforeAll(async () => {
  sets = await kernelSets();
});

// [tokens, minN, maxN, k, expected draft]
const TABLE: [number[], number, number, number, number[]][] = [
  [[1, 2, 3, 4, 1, 2, 3], 1, 3, 3, [4, 1, 2]], // the suffix 1 2 3 occurred at 0..2
  [[1, 2, 3, 4, 1, 2, 3], 1, 3, 10, [4, 1, 2, 3]], // the copy stops at the end of the sequence
  [[1, 2, 3, 4, 1, 2, 3], 4, 4, 3, []], // 4 3 2 1 never occurred: nothing at n = 4
  [[1, 2, 3, 4, 5], 1, 3, 3, []], // nothing repeats
  [[7, 1, 9, 2, 1], 2, 3, 3, []], // "2 1" is new, and n = 1 is not allowed
  [[7, 1, 9, 2, 1], 1, 3, 3, [9, 2, 1]], // n = 1: "1" occurred at 1
  [[5, 1, 2, 5, 3, 5], 1, 2, 1, [1]], // two earlier "5": the first one wins
  [[1, 2, 9, 2, 8, 1, 2], 1, 2, 2, [9, 2]], // the longest (n = 2) beats the later n = 1 match
  [[4, 4, 4, 4], 1, 3, 5, [4]], // overlapping occurrence: 4 4 4 at 0..2 is followed by one 4
  [[3], 1, 3, 3, []], // too short
  [[], 1, 3, 3, []],
  [[1, 2, 1, 2], 1, 3, 0, []], // k = 0
];

describe("ngramPropose (reference)", () => {
  test.each(TABLE)("%j with n in [%d, %d], k = %d proposes %j", (tokens, minN, maxN, k, want) => {
    expect(Array.from(ngramPropose(tokens, minN, maxN, k))).toEqual(want);
  });
});

describe("NgramDrafter (incremental index) answers what ngramPropose answers", () => {
  test.each(TABLE.filter((r) => r[3] > 0))("%j with n in [%d, %d], k = %d", (tokens, minN, maxN, k, want) => {
    for (const kernels of sets) {
      const d = new NgramDrafter({ vocabSize: 10, kernels, ngram: { minN, maxN, maxChain: k, branches: 1 } });
      d.reset(tokens);
      expect(Array.from(d.propose(64).tokens)).toEqual(want);
    }
  });

  test("on random and real streams, token by token", async () => {
    const rng = new Rng(21);
    const real = await realStreams(1500);
    const streams = [randomStream(rng, 1500, 3), randomStream(rng, 1500, 40), repetitiveStream(rng, 1500, 500), ...real.map((r) => r.tokens)];
    for (const kernels of sets) {
      for (const [minN, maxN] of [[1, 4], [2, 3], [3, 8]] as const) {
        for (const s of streams) {
          const d = new NgramDrafter({ vocabSize: 5000, kernels, ngram: { minN, maxN, maxChain: 6, branches: 1 } });
          d.reset([]);
          for (let i = 0; i < s.length; i += 1) {
            d.observe({ accepted: [s[i]!], verifiedTokens: [], topK: new Int32Array(0), k: 0 });
            if (i % 3 !== 0) continue;
            const want = Array.from(ngramPropose(s.subarray(0, i + 1), minN, maxN, 6));
            const got = d.propose(64);
            if (JSON.stringify(Array.from(got.tokens)) !== JSON.stringify(want)) throw new Error(`${kernels.name} n=[${minN},${maxN}] at ${i}: ${Array.from(got.tokens)} vs ${want}`);
            expect(d.matchLength() > 0).toBe(want.length > 0);
          }
        }
      }
    }
  });
});

describe("NgramDrafter branches and caps", () => {
  test("shorter n-grams whose first occurrence differs become further branches", () => {
    for (const kernels of sets) {
      // suffix "1 2": first at 3..4 (followed by 6); suffix "2": first at 1 (followed by 5)
      const d = new NgramDrafter({ vocabSize: 10, kernels, ngram: { minN: 1, maxN: 2, maxChain: 4, branches: 2 } });
      d.reset([0, 2, 5, 1, 2, 6, 7, 1, 2]);
      const t = d.propose(20);
      checkTree(t, 20, 10);
      // branch 0: 6 7 1 2 (4 tokens); branch 1: 5 1 (4 >> 1 = 2 tokens)
      expect(Array.from(t.tokens)).toEqual([6, 5, 7, 1, 1, 2]);
      expect(Array.from(t.sources!)).toEqual([3, 3, 3, 3, 3, 3]);
    }
  });

  test("budget caps the chain; maxTokens keeps the recent half", () => {
    for (const kernels of sets) {
      const d = new NgramDrafter({ vocabSize: 10, kernels, ngram: { maxTokens: 16 } });
      d.reset([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7]);
      expect(Array.from(d.propose(3).tokens)).toEqual([8, 9, 1]);
      // the 17th token: the index is rebuilt from the last 8 (9 1 2 3 4 5 6 7), then 8 is appended
      d.observe({ accepted: [8], verifiedTokens: [], topK: new Int32Array(0), k: 0 });
      expect(d.matchLength()).toBe(0); // the first "8" fell out of the window
      d.observe({ accepted: [9, 1], verifiedTokens: [], topK: new Int32Array(0), k: 0 });
      expect(Array.from(d.propose(3).tokens)).toEqual([2, 3, 4]);
    }
  });
});
