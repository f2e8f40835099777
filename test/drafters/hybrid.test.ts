import { beforeAll, describe, expect, test } from "bun:test";
import { CorpusIndex } from "../../src/drafters/corpus-index.ts";
import { HybridDrafter } from "../../src/drafters/hybrid.ts";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { DRAFT_SOURCES, SOURCE } from "../../src/drafters/sources.ts";
import { matchClass } from "../../src/drafters/suffix-automaton.ts";
import type { VerifyUpdate } from "../../src/drafters/types.ts";
import { checkTree, kernelSets, realStreams, repetitiveStream, Rng, runDrafter } from "./helpers.ts";

let sets: KernelSet[] = [];
beforeAll(async () => {
  sets = await kernelSets();
});

const V = 100;
const accept = (tokens: number[]): VerifyUpdate => ({ accepted: tokens, verifiedTokens: [], topK: new Int32Array(0), k: 0 });
/** Every row t = [t+1, t+2, …, t+8] mod V. */
function warmTable(d: HybridDrafter): void {
  const tokens = Array.from({ length: V }, (_, t) => t);
  d.observe({ accepted: [], verifiedTokens: tokens, topK: Int32Array.from(tokens.flatMap((t) => Array.from({ length: 8 }, (_, j) => (t + 1 + j) % V))), k: 8 });
}

describe("hybrid drafter", () => {
  test("a match at the threshold goes in first as a chain, the recycling tree fills the rest", () => {
    for (const kernels of sets) {
      const d = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5, chainLength: 6 } });
      warmTable(d);
      d.reset([50, 61, 72, 83, 94, 5, 16, 27, 38, 49, 50, 61, 72, 83, 94]); // suffix of 5 repeats
      const t = d.propose(80);
      const paths = checkTree(t, 80, V);
      expect(t.size).toBe(80);
      // the chain (source "sam") is there in full …
      expect(paths).toContain("5/16/27/38/49/50");
      const chainNodes = [...paths.keys()].filter((i) => "5/16/27/38/49/50".startsWith(paths[i]!));
      expect(chainNodes.map((i) => t.sources![i])).toEqual([SOURCE.sam, SOURCE.sam, SOURCE.sam, SOURCE.sam, SOURCE.sam, SOURCE.sam]);
      // … and the rest is the recycling tree from the root 94
      expect(paths).toContain("95/96");
      expect(t.sources!.filter((s) => s === SOURCE.recycle).length).toBe(80 - 6);
    }
  });

  test("a match's nodes are classed by the match they continue: the longer, the surer", () => {
    for (const kernels of sets) {
      const d = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5, chainLength: 16 } });
      d.reset([50, 61, 72, 83, 94, 5, 16, 27, 38, 49, 50, 61, 72, 83, 94]); // suffix of 5 repeats
      const t = d.propose(16);
      expect(Array.from(t.tokens)).toEqual([5, 16, 27, 38, 49, 50, 61, 72, 83, 94]);
      // match 5 at depth 1 (length ≤ 8), … 9 and longer from depth 5 (≤ 16)
      expect(Array.from(t.classes!)).toEqual([7, 7, 7, 7, 8, 8, 8, 8, 8, 8]);
      const short = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5 } });
      short.reset([1, 2, 3, 9, 1, 2]); // a match of 2, then 3, 4 along the chain
      const s = short.propose(8);
      expect(Array.from(s.tokens)).toEqual([3, 9, 1, 2]);
      expect(Array.from(s.classes!)).toEqual([5, 6, 6, 7]);
    }
  });

  test("a second opinion: where the table's row names another token a match's node is classed lower; a table node a short match spells too is raised", () => {
    for (const kernels of sets) {
      const d = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5, chainLength: 16 } });
      warmTable(d); // row 94 names 95 first, not the match's 5; row 5 names 6, not 16; …
      d.reset([50, 61, 72, 83, 94, 5, 16, 27, 38, 49, 50, 61, 72, 83, 94]);
      const t = d.propose(16);
      const paths = checkTree(t, 16, V);
      const chain = [5, 16, 27, 38, 49, 50, 61, 72, 83, 94].map((_, j, c) => paths.indexOf(c.slice(0, j + 1).join("/")));
      expect(chain.every((i) => i >= 0 && t.sources![i] === SOURCE.sam)).toBe(true);
      // cold, the same chain is [7, 7, 7, 7, 8, 8, 8, 8, 8, 8] (the test above); row 49 names 50, as the match does
      expect(chain.map((i) => t.classes![i])).toEqual([matchClass(5, 0), 6, 6, 6, 5, 8, 5, 5, 5, 5]);
      expect(matchClass(5, 0)).toBeLessThan(matchClass(5));

      // Rows name t + 1: the short match [3, 4] continues 5 6 7 8 9, as the table's best path does.
      const classesOf = (prompt: number[]) => {
        const h = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5 } });
        warmTable(h);
        h.reset(prompt);
        const tree = h.propose(80);
        const paths = checkTree(tree, 80, V);
        return new Map(paths.map((p, i) => [p, tree.classes![i]!]));
      };
      const matched = classesOf([3, 4, 5, 6, 7, 8, 9, 3, 4]);
      const alone = classesOf([11, 3, 4]); // no match: the table's tree alone, same rows, same contexts
      for (const p of ["5", "5/6", "5/6/7", "5/6/7/8"]) expect(matched.get(p)).toBe(Math.min(alone.get(p)! + 2, 9));
      for (const p of ["6", "5/7", "7"]) expect(matched.get(p)).toBe(alone.get(p));
    }
  });

  test("a short match drafts at most 8 tokens, a long one up to chainLength", () => {
    for (const kernels of sets) {
      const text = Array.from({ length: 30 }, (_, i) => 10 + i);
      const d = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5 } });
      d.reset([...text, 10, 11]); // a match of 2 (the table is cold)
      expect(Array.from(d.propose(80).tokens)).toEqual(text.slice(2, 10));
      d.reset([...text, 10, 11, 12, 13, 14]); // a match of 5
      expect(d.propose(80).size).toBe(30); // to the end of the sequence: the rest of the text, then the match itself
    }
  });

  test("below the threshold the recycling tree comes first; short matches only fill what is left", () => {
    for (const kernels of sets) {
      const d = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 5, chainLength: 6 } });
      d.reset([1, 2, 3, 9, 1, 2, 3]); // match of 3 < 5
      expect(Array.from(d.propose(80).tokens)).toEqual([9, 1, 2, 3]); // cold table: only the short match
      warmTable(d);
      const t = d.propose(80);
      checkTree(t, 80, V);
      expect(t.size).toBe(80); // the 80-node recycling tree takes the whole budget
      expect(new Set(t.sources)).toEqual(new Set([SOURCE.recycle]));
      const small = d.propose(4);
      expect(Array.from(small.tokens)).toEqual([4, 5, 6, 7]);
    }
  });

  test("identical paths from several sources are drafted once", () => {
    for (const kernels of sets) {
      const d = new HybridDrafter({ vocabSize: V, kernels, hybrid: { threshold: 2, chainLength: 5 } });
      // every row t = [t+1, …]: the recycling tree's rank-0 path from 4 is 5 6 7 8 …, exactly the match's continuation
      warmTable(d);
      d.reset([3, 4, 5, 6, 7, 8, 9, 3, 4]);
      const t = d.propose(80);
      const paths = checkTree(t, 80, V);
      expect(paths).toContain("5/6/7/8/9");
      // the chain went in first (source sam / ngram); the recycling tree reused those nodes instead of repeating them
      const onChain = [...paths.keys()].filter((i) => "5/6/7/8/9".startsWith(paths[i]!));
      expect(onChain.length).toBe(5);
      expect(onChain.every((i) => t.sources![i] !== SOURCE.recycle)).toBe(true);
      expect(d.sourceNames).toEqual(DRAFT_SOURCES);
    }
  });

  test("a long corpus match (less its bias) competes with sequence matches", () => {
    for (const kernels of sets) {
      const corpus = CorpusIndex.build([[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]], { vocabSize: V });
      const d = new HybridDrafter({ vocabSize: V, kernels, sam: { corpus, corpusBias: 5 }, hybrid: { threshold: 5, chainLength: 4 } });
      d.reset([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]); // corpus match 10 - 5 = 5: strong
      const t = d.propose(80);
      expect(Array.from(t.tokens)).toEqual([20]); // all the corpus has after it
      expect(Array.from(t.sources!)).toEqual([SOURCE.samStatic]);
    }
  });

  test("never exceeds the budget and never repeats a path, over long random runs", async () => {
    const rng = new Rng(9);
    const real = await realStreams(1200);
    for (const kernels of sets) {
      for (const truth of [repetitiveStream(rng, 1500, 60), real[0]!.tokens, real[2]!.tokens]) {
        const d = new HybridDrafter({ vocabSize: 5000, kernels, hybrid: { threshold: 3, chainLength: 12 } });
        let step = 0;
        const budgets = [80, 1, 0, 7, 33, 200];
        runDrafter(d, truth, 5000, 50, 80, (t) => {
          checkTree(t, 80, 5000);
          const b = budgets[step++ % budgets.length]!;
          checkTree(d.propose(b), b, 5000);
        });
        expect(step).toBeGreaterThan(50);
      }
    }
  });

  test("the hybrid's table is its cross-request memory: save/load", () => {
    const [ts, wasm] = sets;
    const d = new HybridDrafter({ vocabSize: V, kernels: ts });
    warmTable(d);
    d.observe(accept([7]));
    const hot = new HybridDrafter({ vocabSize: V, kernels: wasm, recycle: { table: d.save() } });
    hot.reset([7]);
    d.reset([7]);
    expect(Array.from(hot.propose(80).tokens)).toEqual(Array.from(d.propose(80).tokens));
  });
});
