/**
 * One suite every drafter passes, on both kernel sets: empty input, budgets 0 and 1, very long
 * inputs, ids at the vocabulary edge, and invalid ids rejected with `invalid_token`.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createDrafter, DRAFTER_NAMES } from "../../src/drafters/index.ts";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import type { VerifyUpdate } from "../../src/drafters/types.ts";
import { EdgespecError, type ErrorCode } from "../../src/errors.ts";
import { checkTree, kernelSets, randomStream, repetitiveStream, Rng, runDrafter } from "./helpers.ts";

let sets: KernelSet[] = [];
beforeAll(async () => {
  sets = await kernelSets();
});

const V = 32_000;
const none = (accepted: ArrayLike<number>): VerifyUpdate => ({ accepted, verifiedTokens: [], topK: new Int32Array(0), k: 0 });

function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(EdgespecError);
  expect((caught as EdgespecError).code).toBe(code);
  if (message) expect((caught as Error).message).toMatch(message);
}

describe.each(DRAFTER_NAMES.flatMap((name) => ["ts", "wasm"].map((k) => [name, k] as const)))("%s drafter on %s kernels", (name, kernelName) => {
  const make = (vocabSize = V) => createDrafter(name, { vocabSize, kernels: sets.find((s) => s.name === kernelName)! });

  test("empty prompt and empty observations: no guess, no error", () => {
    const d = make();
    d.reset([]);
    checkTree(d.propose(80), 80, V);
    d.observe({ accepted: [], verifiedTokens: [], topK: new Int32Array(0), k: 8 });
    checkTree(d.propose(80), 80, V);
    d.observe(none([5]));
    checkTree(d.propose(80), 80, V);
  });

  test("budget 0 gives an empty tree, budget 1 at most one node; bad budgets are argument errors", () => {
    const d = make();
    const rng = new Rng(2);
    runDrafter(d, repetitiveStream(rng, 400, 50), V, 100, 80, () => {
      expect(d.propose(0).size).toBe(0);
      const one = d.propose(1);
      checkTree(one, 1, V);
      if (one.size === 1) expect([one.parents[0], one.depths[0]]).toEqual([-1, 1]);
    });
    for (const bad of [-1, 1.5, Number.NaN]) expectCode(() => d.propose(bad), "invalid_argument", /budget/);
  });

  test("very long inputs: a 150k-token prompt and a long run stay valid", () => {
    const d = make();
    const rng = new Rng(3);
    const prompt = randomStream(rng, 150_000, V);
    d.reset(prompt);
    const topK = randomStream(rng, prompt.length * 8, V);
    d.observe({ accepted: [prompt[0]!], verifiedTokens: prompt, topK, k: 8 });
    checkTree(d.propose(80), 80, V);
    for (let i = 0; i < 200; i++) {
      d.observe(none(prompt.subarray(i * 50, i * 50 + 50)));
      checkTree(d.propose(80), 80, V);
    }
    checkTree(d.propose(5000), 4096, V); // huge budgets are capped, not allocated
  });

  test("token ids at the vocabulary edge", () => {
    for (const vocabSize of [1, 2, V, 65_535, 65_536]) {
      const d = make(vocabSize);
      const top = vocabSize - 1;
      const stream = Int32Array.from({ length: 300 }, (_, i) => (i % 7 < 4 ? top : i % 3 === 0 ? 0 : Math.min(top, 1)));
      d.reset(stream.subarray(0, 100));
      d.observe({ accepted: [top], verifiedTokens: stream.subarray(0, 100), topK: Int32Array.from({ length: 800 }, (_, i) => (i % 2 ? top : 0)), k: 8 });
      runDrafter(d, stream, vocabSize, 150, 80, (t) => checkTree(t, 80, vocabSize));
    }
  });

  test("invalid ids are rejected with invalid_token, wherever they are", () => {
    const d = make(1000);
    for (const bad of [-1, 1000, 1.5, Number.NaN, 2 ** 40]) {
      expectCode(() => d.reset([1, bad]), "invalid_token", /prompt\[1\]/);
      expectCode(() => d.observe(none([bad])), "invalid_token", /accepted\[0\]/);
      expectCode(() => d.observe({ accepted: [1], verifiedTokens: [2, bad], topK: new Int32Array(16), k: 8 }), "invalid_token", /verifiedTokens\[1\]/);
    }
    const topK = new Int32Array(16);
    topK[9] = 1000;
    expectCode(() => d.observe({ accepted: [1], verifiedTokens: [2, 3], topK, k: 8 }), "invalid_token", /topK\[9\]/);
    topK[9] = -2;
    expectCode(() => d.observe({ accepted: [1], verifiedTokens: [2, 3], topK, k: 8 }), "invalid_token", /topK\[9\]/);
    expectCode(() => d.observe({ accepted: [1], verifiedTokens: [2, 3], topK: new Int32Array(8), k: 8 }), "invalid_argument", /topK has 8 ids, expected 2 rows of 8/);
    // a rejected call leaves the drafter usable
    d.reset([1, 2, 3, 1, 2]);
    checkTree(d.propose(80), 80, 1000);
  });
});

test("unknown drafter names and kernel sets are argument errors listing the valid ones", () => {
  expectCode(() => createDrafter("medusa", { vocabSize: 10 }), "invalid_argument", /valid: none, recycle, sam, ngram, hybrid/);
  expectCode(() => createDrafter("sam", { vocabSize: 10, kernels: "gpu" as unknown as KernelSet }), "invalid_argument", /kernels must be a kernel set .*got "gpu"/);
  expectCode(() => createDrafter("sam", { vocabSize: 0 }), "invalid_argument", /vocabSize/);
});
