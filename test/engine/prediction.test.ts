/**
 * Predicted Outputs: a prediction is drafted first and only verified, so the output is plain
 * decoding's whatever it says; a right prediction is taken in long runs, and after an edit the
 * drafter finds its place in the prediction again.
 */
import { describe, expect, test } from "bun:test";
import { createDrafter } from "../../src/drafters/index.ts";
import { PredictionDrafter } from "../../src/drafters/prediction.ts";
import { matchClass } from "../../src/drafters/suffix-automaton.ts";
import type { DraftTree, Drafter } from "../../src/drafters/types.ts";
import { VerifyCostModel } from "../../src/engine/cost-model.ts";
import { generate } from "../../src/engine/speculative.ts";
import { referenceModel } from "../helpers/model.ts";

const PROMPT = "def parse_header(line):\n    ";
const N = 64;

/** A verify cost curve that real timings do not move (edgespec-tiny's warm WASM curve, ms), so the
 * trees, and what each source is credited with, are a function of the tokens, not of machine load. */
class FixedCost extends VerifyCostModel {
  override observe(): void {}
}
const TINY_MS: Record<number, number> = { 1: 2.59, 2: 3.04, 4: 3.65, 8: 4.66, 16: 7.44, 32: 11.76, 48: 16.62, 64: 21.47, 96: 35.4 };
const fixedCost = () => new FixedCost(Object.entries(TINY_MS).map(([tokens, ms]) => ({ tokens: Number(tokens), ms })));

const update = (accepted: number[]) => ({ accepted, verifiedTokens: [], topK: new Int32Array(0), k: 0 });

describe("PredictionDrafter", () => {
  test("drafts the prediction from where the output stands, and finds its place after an edit", () => {
    const prediction = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
    const d = new PredictionDrafter(prediction, 100);
    d.reset([1, 2]);
    expect([...d.propose(4).tokens]).toEqual([10, 11, 12, 13]);
    d.observe(update([10, 11]));
    expect(d.position).toBe(2);
    expect([...d.propose(3).tokens]).toEqual([12, 13, 14]);
    // An edit: the output writes 50, 51 instead of 12, 13 — lost until it copies again.
    d.observe(update([50, 51]));
    expect(d.position).toBe(-1);
    expect(d.propose(5).size).toBe(0);
    // It copies 14, 15 (two tokens: enough to be sure) and drafting resumes after them.
    d.observe(update([14]));
    expect(d.position).toBe(-1); // one token is not enough
    d.observe(update([15]));
    expect(d.position).toBe(6);
    expect([...d.propose(2).tokens]).toEqual([16, 17]);
  });

  test("on a tie the occurrence after the last position wins; the inner drafter's tree is merged in", () => {
    const prediction = [5, 6, 7, 1, 5, 6, 8, 2];
    const inner = createDrafter("ngram", { vocabSize: 100 });
    const d = new PredictionDrafter(prediction, 100, inner);
    expect(d.sourceNames).toEqual([...inner.sourceNames!, "prediction"]);
    d.reset([5, 6, 9, 5, 6]);
    d.observe(update([5, 6, 7, 1])); // copies positions 0..3
    expect(d.position).toBe(4);
    d.observe(update([9, 5, 6])); // departs, then [5, 6] occurs at 0..1 and 4..5: after 4 wins
    expect(d.position).toBe(6);
    const tree = d.propose(8);
    expect(tree.tokens[0]).toBe(8); // the prediction's chain comes first
    expect(tree.sources![0]).toBe(d.source);
    expect([...tree.sources!].some((s) => s !== d.source)).toBe(true); // and the n-gram tree too
  });

  test("classes its chain by how long the output has followed it, and keeps the inner drafter's classes", () => {
    const inner: Drafter = {
      name: "stub",
      reset() {},
      observe() {},
      // 10 (the prediction's next token too) and 40 under the root, 41 under 40
      propose: () => ({ size: 3, tokens: Int32Array.of(10, 40, 41), parents: Int32Array.of(-1, -1, 1), depths: Int32Array.of(1, 1, 2), classes: Uint8Array.of(2, 3, 4) }),
    };
    const d = new PredictionDrafter([10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 100, inner);
    d.reset([1, 2]);
    const first = d.propose(12); // the whole chain (10), then the inner tree
    const classOf = (t: DraftTree, path: number[]) => {
      let at = -1;
      for (const token of path) at = [...t.tokens.keys()].find((i) => t.parents[i] === at && t.tokens[i] === token)!;
      return t.classes![at];
    };
    // Nothing followed yet: lengths 0..3 along the chain.
    expect([[10], [10, 11], [10, 11, 12], [10, 11, 12, 13]].map((p) => classOf(first, p))).toEqual([0, 1, 2, 3].map((n) => matchClass(n)));
    expect([classOf(first, [40]), classOf(first, [40, 41])]).toEqual([3, 4]); // the inner tree's own
    d.observe(update([10, 11, 12, 13, 14, 15, 16, 17])); // eight tokens in step
    const later = d.propose(2);
    expect(Array.from(later.tokens)).toEqual([18, 19]);
    expect(Array.from(later.classes!)).toEqual([matchClass(8), matchClass(9)]);
    expect(matchClass(9)).toBeGreaterThan(matchClass(0));
  });

  test("refuses ids outside the vocabulary", () => {
    expect(() => new PredictionDrafter([1, 200], 100)).toThrow(/prediction/);
  });
});

describe("generate with a prediction", () => {
  test("lossless for a right, an edited and a wrong prediction, with any drafter or none", async () => {
    const model = await referenceModel();
    const plain = await generate(model, PROMPT, { maxTokens: N, stopAtEos: false });
    const right = plain.tokens;
    // The edit replaces 8 tokens in the middle with others.
    const edited = [...right.slice(0, 24), ...Array.from({ length: 8 }, (_, i) => 300 + i), ...right.slice(32)];
    const wrong = Array.from({ length: N }, (_, i) => 500 + ((i * 37) % 1000));
    for (const name of ["none", "ngram", "hybrid"]) {
      for (const [label, prediction] of [["right", right], ["edited", edited], ["wrong", wrong]] as const) {
        const drafter = name === "none" ? undefined : createDrafter(name, { vocabSize: model.lm.spec.vocabSize });
        const r = await generate(model, PROMPT, { maxTokens: N, stopAtEos: false, drafter, prediction, costModel: fixedCost() });
        expect({ name, label, tokens: r.tokens }).toEqual({ name, label, tokens: plain.tokens });
        const p = r.stats.prediction!;
        expect(p.acceptedTokens + p.rejectedTokens).toBe(prediction.length);
        const fromPrediction = r.stats.perDrafter.prediction?.accepted ?? 0;
        if (label === "right") {
          expect(p.acceptedTokens).toBe(N);
          expect(fromPrediction).toBeGreaterThan(N / 2);
          expect(r.stats.steps).toBeLessThan(N / 3);
        }
        if (label === "edited") {
          // At least the 56 unedited tokens appear in place (the tiny model repeats itself, so an
          // edited span's tokens may be found elsewhere); drafting picks the copy up after the edit.
          expect(p.acceptedTokens).toBeGreaterThanOrEqual(N - 8);
          expect(fromPrediction).toBeGreaterThan(N / 2);
        }
        if (label === "wrong") expect(p.acceptedTokens).toBeLessThan(4);
      }
    }
  });
});
