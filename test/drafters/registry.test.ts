/**
 * The drafter registry: built-ins are registered like any drafter, a user's drafter goes through
 * the public interface into the library (and stays lossless), and wrong names or inputs are clear.
 */
import { describe, expect, test } from "bun:test";
import { open } from "../../adapters/bun/index.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { CorpusIndex } from "../../src/drafters/corpus-index.ts";
import { builtinDrafters, DrafterRegistry } from "../../src/drafters/registry.ts";
import { tsKernels } from "../../src/drafters/kernels/index.ts";
import type { DraftTree, Drafter, VerifyUpdate } from "../../src/drafters/types.ts";
import { EdgespecError } from "../../src/errors.ts";
import { chainTree } from "../helpers/test-drafters.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";

/** Guesses that the last token repeats: a user's drafter, written against the public interface only. */
class RepeatDrafter implements Drafter {
  readonly name = "repeat";
  last = -1;
  observed = 0;
  reset(prompt: ArrayLike<number>): void {
    this.last = prompt[prompt.length - 1]!;
  }
  propose(budget: number): DraftTree {
    return chainTree(Array.from({ length: Math.min(budget, 3) }, () => this.last));
  }
  observe(u: VerifyUpdate): void {
    this.observed++;
    if (u.accepted.length > 0) this.last = u.accepted[u.accepted.length - 1]!;
  }
}

const ctx = { vocabSize: 4096, tokenizerFingerprint: "t", kernels: tsKernels };

describe("drafter registry", () => {
  test("the built-ins, by name; none is plain decoding; capabilities are declared", () => {
    const r = builtinDrafters();
    expect(r.names).toEqual(["none", "recycle", "sam", "ngram", "hybrid"]);
    expect(r.create("none", ctx)).toBeUndefined();
    for (const name of r.names.slice(1)) expect(r.create(name, ctx)!.name).toBe(name);
    expect(r.maker("hybrid")).toMatchObject({ usesCorpus: true, savesState: true });
    expect(r.maker("ngram")!.usesCorpus).toBeUndefined();
  });

  test("wrong names and unused inputs are clear errors", () => {
    const r = builtinDrafters();
    expect(() => r.create("nope", ctx)).toThrow(/unknown drafter "nope" \(valid: none, recycle, sam, ngram, hybrid\)/);
    const corpus = CorpusIndex.build([[1, 2, 3]], { vocabSize: 4096, tokenizerFingerprint: "t" });
    expect(() => r.create("ngram", { ...ctx, corpus })).toThrow(/a corpus is used by the sam and hybrid drafters, not "ngram"/);
    expect(() => r.create("sam", { ...ctx, savedState: new Uint8Array(4) })).toThrow(/no saved state/);
    expect(() => r.register("hybrid", { create: () => new RepeatDrafter() })).toThrow(EdgespecError);
    expect(() => r.register("none", { create: () => new RepeatDrafter() })).toThrow(/already registered/);
    expect(() => r.register("Bad Name", { create: () => new RepeatDrafter() })).toThrow(/lower-case/);
    expect(() => new DrafterRegistry().register("x", { create: () => ({}) as Drafter }).create("x", ctx)).toThrow(/must return a Drafter/);
  });

  test("a user's drafter that names itself nothing goes by the name it was registered under (errors and stats say which)", () => {
    const nameless = { reset() {}, propose: () => chainTree([]), observe() {}, memoryBytes: () => 0, dispose() {} } as unknown as Drafter;
    expect(new DrafterRegistry().register("mine", { create: () => nameless }).create("mine", ctx)!.name).toBe("mine");
    const named = new RepeatDrafter();
    expect(new DrafterRegistry().register("other", { create: () => named }).create("other", ctx)!.name).toBe("repeat");
  });

  test("a user's drafter through open(): drafted, accepted, and the output is plain decoding's", async () => {
    const mine = new RepeatDrafter();
    const drafters = builtinDrafters().register("repeat", { create: () => mine });
    await expect(open({ model: MODEL_DIR, dtype: "fp32", drafters, drafter: "nonexistent" })).rejects.toThrow(/unknown drafter "nonexistent"/);
    const lm = await open({ model: MODEL_DIR, dtype: "fp32", device: "wasm", drafters, drafter: "repeat" });
    try {
      const prompt = "x = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0,";
      const r = await lm.generate(prompt, { maxTokens: 32, stopAtEos: false });
      const plain = await generatePlain(await referenceModel("fp32"), prompt, { maxTokens: 32, stopAtEos: false });
      expect(r.tokens).toEqual(plain.tokens);
      expect(r.stats.drafter).toBe("repeat");
      expect(r.stats.draftedTokens).toBeGreaterThan(0);
      expect(mine.observed).toBeGreaterThan(0); // the user's own object saw the verifications
    } finally {
      await lm.close();
    }
  });
});
