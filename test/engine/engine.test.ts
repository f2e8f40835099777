import { describe, expect, test } from "bun:test";
import { generatePlain } from "../../src/decode/plain.ts";
import { createDrafter } from "../../src/drafters/index.ts";
import { COST_GRID, VerifyCostModel } from "../../src/engine/cost-model.ts";
import { generate } from "../../src/engine/speculative.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "../../src/drafters/types.ts";
import benchPrompts from "../../bench/prompts.json";
import { referenceModel } from "../helpers/model.ts";
import { RandomTreeDrafter, ScriptedDrafter } from "../helpers/test-drafters.ts";

const PROMPTS = [
  "def parse_args(argv):\n    parser = argparse.ArgumentParser()\n",
  "interface Options {\n  /** Whether to",
  "The quick brown fox",
];

describe("speculative engine (greedy) on the reference model", () => {
  test("an oracle drafter is accepted almost entirely and changes nothing", async () => {
    const m = await referenceModel("fp32");
    for (const prompt of PROMPTS) {
      const plain = await generatePlain(m, prompt, { maxTokens: 40 });
      const spec = await generate(m, prompt, { maxTokens: 40, drafter: new ScriptedDrafter(plain.tokens, m.lm.spec.vocabSize), budget: 8 });
      expect(spec.tokens).toEqual(plain.tokens);
      expect(spec.text).toBe(plain.text);
      // Every draft token the model could accept was accepted: steps ~ tokens / 9.
      expect(spec.stats.acceptedTokens).toBeGreaterThanOrEqual(plain.tokens.length - 1 - spec.stats.steps);
      expect(spec.stats.meanAcceptedLength).toBeGreaterThan(4);
    }
  });

  test("an always-wrong drafter changes nothing and gets nothing accepted", async () => {
    const m = await referenceModel("fp32");
    for (const prompt of PROMPTS) {
      const plain = await generatePlain(m, prompt, { maxTokens: 24 });
      const spec = await generate(m, prompt, { maxTokens: 24, drafter: new ScriptedDrafter(plain.tokens, m.lm.spec.vocabSize, true), budget: 6 });
      expect(spec.tokens).toEqual(plain.tokens);
      expect(spec.stats.acceptedTokens).toBe(0);
      expect(spec.stats.draftedTokens).toBeGreaterThan(0);
    }
  });

  test("random trees (tree attention + KV compaction every step) change nothing", async () => {
    const m = await referenceModel("fp32");
    let accepted = 0;
    for (const [i, prompt] of PROMPTS.entries()) {
      const plain = await generatePlain(m, prompt, { maxTokens: 32, stopAtEos: false });
      // Guess among tokens the plain output uses, so some guesses are accepted and many are not.
      const spec = await generate(m, prompt, { maxTokens: 32, stopAtEos: false, drafter: new RandomTreeDrafter([...new Set(plain.tokens)], i + 1), budget: 24 });
      expect(spec.tokens).toEqual(plain.tokens);
      // Each step emitted its accepted tokens + 1 (drafting never runs past max tokens).
      expect(spec.stats.steps + spec.stats.acceptedTokens).toBe(plain.tokens.length - 1);
      expect(spec.stats.draftedTokens).toBeGreaterThan(spec.stats.acceptedTokens);
      accepted += spec.stats.acceptedTokens;
    }
    expect(accepted).toBeGreaterThan(0); // tree paths were accepted, so compaction really ran
  });

  test("the drafter learns each verified row's parent in the tree (the context its candidates came from)", async () => {
    const m = await referenceModel("fp32");
    const plain = await generatePlain(m, PROMPTS[0]!, { maxTokens: 16, stopAtEos: false });
    const seen: { tree: DraftTree; update: VerifyUpdate }[] = [];
    const inner = new RandomTreeDrafter([...new Set(plain.tokens)], 3);
    let last: DraftTree | undefined;
    const recording: Drafter = {
      name: "recording",
      reset: () => {},
      propose: (budget) => (last = inner.propose(budget)),
      observe: (update) => {
        if (last) seen.push({ tree: last, update });
        last = undefined; // a step near max tokens may verify without asking for a tree
      },
    };
    await generate(m, PROMPTS[0]!, { maxTokens: 16, stopAtEos: false, drafter: recording, budget: 6 });
    expect(seen.length).toBeGreaterThan(2);
    for (const { tree, update } of seen) {
      // A fixed budget verifies the proposed tree itself: row 0 is the root, node j is row j + 1.
      expect(update.verifiedTokens.length).toBe(tree.size + 1);
      expect(Array.from(update.verifiedParents!)).toEqual([-1, ...Array.from(tree.parents, (p) => p + 1)]);
    }
  });

  test("at the prefill a drafter learns the candidates of the prompt's last 64 rows, those rows' own", async () => {
    const m = await referenceModel("fp32");
    const prompt = benchPrompts.prompts[0]!.prompt;
    const ids = m.tokenizer.encode(prompt, true);
    expect(ids.length).toBeGreaterThan(200);
    const updates: VerifyUpdate[] = [];
    const recording: Drafter = {
      name: "recording",
      candidatesPerRow: 4,
      reset: () => {},
      propose: () => emptyTree(),
      observe: (update) => void updates.push(update),
    };
    await generate(m, prompt, { maxTokens: 2, stopAtEos: false, drafter: recording, budget: 1 });
    const first = updates[0]!;
    expect(Array.from(first.verifiedTokens)).toEqual(ids.slice(-64));
    expect([first.k, first.topK.length]).toEqual([4, 64 * 4]);
    const all = await m.lm.forwardLast!(ids, ids.map((_, i) => i), m.lm.newCache(), 4);
    expect(Array.from(first.topK)).toEqual(Array.from(all.topK.subarray((ids.length - 64) * 4)));
  });

  test("stop strings that fall inside an accepted run cut exactly where plain decoding cuts", async () => {
    const m = await referenceModel("fp32");
    const prompt = PROMPTS[0]!;
    const full = await generatePlain(m, prompt, { maxTokens: 40 });
    // A stop string from the middle of the output: with an oracle, it arrives inside a long run.
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 4);
    const plain = await generatePlain(m, prompt, { maxTokens: 40, stop: [stop] });
    const chunks: string[] = [];
    const spec = await generate(m, prompt, { maxTokens: 40, stop: [stop], drafter: new ScriptedDrafter(full.tokens, m.lm.spec.vocabSize), budget: 16, onText: (t) => chunks.push(t) });
    expect(plain.finishReason).toBe("stop");
    expect(spec.finishReason).toBe("stop");
    expect(spec.text).toBe(plain.text);
    expect(chunks.join("")).toBe(plain.text);
  });

  test("max tokens inside an accepted run stops at exactly max tokens", async () => {
    const m = await referenceModel("fp32");
    const full = await generatePlain(m, PROMPTS[1]!, { maxTokens: 30 });
    const spec = await generate(m, PROMPTS[1]!, { maxTokens: 13, drafter: new ScriptedDrafter(full.tokens, m.lm.spec.vocabSize), budget: 10 });
    expect(spec.tokens).toEqual(full.tokens.slice(0, 13));
    expect(spec.finishReason).toBe("length");
  });

  test("the adaptive budget measures the verify cost curve and reports what it chose", async () => {
    const m = await referenceModel("q8");
    const plain = await generatePlain(m, PROMPTS[0]!, { maxTokens: 24 });
    const spec = await generate(m, PROMPTS[0]!, { maxTokens: 24, drafter: new ScriptedDrafter(plain.tokens, m.lm.spec.vocabSize) });
    expect(spec.tokens).toEqual(plain.tokens);
    // The measured grid, every point positive; 96 tokens cost more than 1 on any CPU.
    const curve = spec.stats.verifyCost;
    expect(curve.map((p) => p.tokens)).toEqual([...COST_GRID]);
    for (const p of curve) expect(p.ms).toBeGreaterThan(0);
    expect(curve[curve.length - 1]!.ms).toBeGreaterThan(curve[0]!.ms);
    // Every step with room to draft chose a budget (at most the last step had none).
    const used = Object.values(spec.stats.budgets).reduce((a, b) => a + b, 0);
    expect(used).toBeGreaterThanOrEqual(spec.stats.steps - 1);
    expect(used).toBeLessThanOrEqual(spec.stats.steps);
    // An oracle is worth drafting for: most steps drafted, and drafts were accepted.
    expect(spec.stats.acceptedTokens).toBeGreaterThan(0);
    expect(spec.stats.budgets["0"] ?? 0).toBeLessThan(used / 2);
  });

  test("a cost curve given with the request sizes the trees, and one that ignores timings makes them a function of the tokens", async () => {
    const m = await referenceModel("fp32");
    class Fixed extends VerifyCostModel {
      override observe(): void {}
    }
    const fixed = (ms: (tokens: number) => number) => new Fixed(COST_GRID.map((tokens) => ({ tokens, ms: ms(tokens) })));
    const plain = await generatePlain(m, PROMPTS[0]!, { maxTokens: 32 });
    const run = (curve: VerifyCostModel) => generate(m, PROMPTS[0]!, { maxTokens: 32, drafter: createDrafter("hybrid", { vocabSize: m.lm.spec.vocabSize }), costModel: curve });
    // Free verification: every node of the candidate is worth it. Linear cost: a node is worth its
    // price only when it is all but certain, so far fewer are verified.
    const free = await run(fixed(() => 1));
    const linear = await run(fixed((n) => n));
    for (const r of [free, linear]) expect(r.tokens).toEqual(plain.tokens);
    expect(free.stats.verifyCost[0]!.ms).toBe(1);
    expect(free.stats.draftedTokens / free.stats.steps).toBeGreaterThan(4 * (linear.stats.draftedTokens / linear.stats.steps));
    // Same tokens, same curve: the same trees, step for step.
    const again = await run(fixed((n) => n));
    expect([again.stats.steps, again.stats.draftedTokens, again.stats.budgets]).toEqual([linear.stats.steps, linear.stats.draftedTokens, linear.stats.budgets]);
  });

  test("a model whose curve was not timed up front runs no forward of its own: the curve is learned from the request's steps", async () => {
    const m = await referenceModel("fp32");
    // A view of the model that no request has used (its own curve), counting forwards and caches.
    const lm = Object.create(m.lm) as typeof m.lm;
    let caches = 0;
    let forwards = 0;
    lm.newCache = () => (caches++, m.lm.newCache());
    lm.forward = (...a) => (forwards++, m.lm.forward(...a));
    lm.forwardLast = (...a) => (forwards++, m.lm.forwardLast!(...a));
    lm.forwardTop = (...a) => (forwards++, m.lm.forwardTop!(...a));
    const r = await generate({ ...m, lm }, PROMPTS[1]!, { maxTokens: 24, stopAtEos: false, drafter: createDrafter("hybrid", { vocabSize: m.lm.spec.vocabSize }) });
    // The prefill and one forward per step, on the request's own cache.
    expect([caches, forwards]).toEqual([1, 1 + r.stats.steps]);
    // Timed by those steps: not the prior's unit scale (1 ms for 1 token), and monotone.
    const curve = r.stats.verifyCost;
    expect(curve.map((p) => p.tokens)).toEqual([...COST_GRID]);
    expect(curve.some((p, i) => Math.abs(p.ms - VerifyCostModel.learned().points[i]!.ms) > 1e-3)).toBe(true);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.ms).toBeGreaterThanOrEqual(curve[i - 1]!.ms);
  });

  test("steps that read back logits (sampling) and steps that read back ids (greedy) keep separate cost curves", async () => {
    const m = await referenceModel("fp32");
    // A view whose logits read-back takes 100 ms more than its ids read-back (a few ms): a curve
    // shared by both would price a greedy step at a sampling step's cost. The margins are wide so
    // that neither a stall of a greedy step nor a curve filled from the prior's shape decides.
    const lm = Object.create(m.lm) as typeof m.lm;
    lm.forward = async (...a) => {
      const out = await m.lm.forward(...a);
      await new Promise((r) => setTimeout(r, 100));
      return out;
    };
    const model = { ...m, lm };
    const drafter = () => createDrafter("hybrid", { vocabSize: m.lm.spec.vocabSize });
    const greedy = (maxTokens: number) => generate(model, PROMPTS[1]!, { maxTokens, stopAtEos: false, drafter: drafter() });
    const first = await greedy(24);
    const sampled = await generate(model, PROMPTS[1]!, { maxTokens: 16, stopAtEos: false, temperature: 0.8, seed: 7, drafter: drafter() });
    expect(Math.max(...sampled.stats.verifyCost.map((p) => p.ms))).toBeGreaterThan(100);
    // The greedy curve is the first request's, followed by this one's few steps: no sampling step
    // in it (up to 8 tokens, where the steps were timed; larger sizes are the prior's multiples).
    const again = await greedy(4);
    for (const r of [first, again]) expect(Math.max(...r.stats.verifyCost.slice(0, 4).map((p) => p.ms))).toBeLessThan(50);
  });

  test("seeded sampling with speculation is reproducible", async () => {
    const m = await referenceModel("q8");
    const run = () => generate(m, PROMPTS[2]!, { maxTokens: 24, temperature: 0.9, topP: 0.95, seed: 1234, drafter: new RandomTreeDrafter([262, 264, 278, 290, 300], 5), budget: 12 });
    const a = await run();
    const b = await run();
    expect(a.tokens).toEqual(b.tokens);
    const c = await generate(m, PROMPTS[2]!, { maxTokens: 24, temperature: 0.9, topP: 0.95, seed: 99, drafter: new RandomTreeDrafter([262, 264], 5), budget: 12 });
    expect(c.tokens).not.toEqual(a.tokens);
  });
});

describe("engine surface", () => {
  test("generateStream yields the text generate() returns, then the result", async () => {
    const { generateStream } = await import("../../src/engine/stream.ts");
    const m = await referenceModel("q8");
    const plain = await generatePlain(m, PROMPTS[1]!, { maxTokens: 20 });
    const it = generateStream(m, PROMPTS[1]!, { maxTokens: 20, drafter: new ScriptedDrafter(plain.tokens, m.lm.spec.vocabSize), budget: 4 });
    let text = "";
    const sources = new Set<string>();
    for (;;) {
      const step = await it.next();
      if (step.done) {
        expect(step.value.tokens).toEqual(plain.tokens);
        break;
      }
      text += step.value.text;
      sources.add(step.value.source);
    }
    expect(text).toBe(plain.text);
    expect(sources.has("oracle")).toBe(true); // accepted draft tokens are attributed to their drafter
  });

  test("a graph without tree attention verifies chains only, still losslessly, and says so", async () => {
    const { bunHost } = await import("../../adapters/bun/host.ts");
    const { loadModel } = await import("../../src/model/load.ts");
    const { MODEL_DIR } = await import("../helpers/model.ts");
    const notes: string[] = [];
    const m = await loadModel(bunHost, MODEL_DIR, { dtype: "q8", device: "wasm", treeAttention: false, onProgress: (s) => notes.push(s) });
    expect(notes.some((n) => n.includes("tree attention unavailable"))).toBe(true);
    const plain = await generatePlain(m, PROMPTS[0]!, { maxTokens: 24 });
    const spec = await generate(m, PROMPTS[0]!, { maxTokens: 24, drafter: new RandomTreeDrafter([...new Set(plain.tokens)], 3), budget: 16 });
    expect(spec.tokens).toEqual(plain.tokens);
    expect(spec.stats.treeAttention).toBe(false);
    expect(spec.stats.draftedTokens).toBeLessThanOrEqual(spec.stats.steps * 16);
    await m.lm.dispose();
  });
});

describe("a drafter that breaks the tree contract", () => {
  const one = (t: Partial<DraftTree>): DraftTree => ({ size: 1, tokens: Int32Array.of(5), parents: Int32Array.of(-1), depths: Int32Array.of(1), ...t });
  const CASES: [string, DraftTree, RegExp][] = [
    ["a node that is its own parent (walks up it would never end)", one({ parents: Int32Array.of(0) }), /node 0's parent is 0/],
    ["a parent past the node", { size: 2, tokens: Int32Array.of(5, 6), parents: Int32Array.of(-1, 5), depths: Int32Array.of(1, 2) }, /node 1's parent is 5/],
    ["a size beyond its arrays", one({ size: 2 }), /its tokens hold 1 entries for 2 nodes/],
    ["a depth that is not its parent's + 1 (it is the position the node is verified at)", { size: 2, tokens: Int32Array.of(5, 6), parents: Int32Array.of(-1, 0), depths: Int32Array.of(1, 3) }, /node 1's depth is 3/],
    ["a token outside the vocabulary", one({ tokens: Int32Array.of(1 << 20) }), /node 0's token 1048576 is not in/],
    ["more nodes than the budget", { size: 3, tokens: Int32Array.of(5, 6, 7), parents: Int32Array.of(-1, 0, 1), depths: Int32Array.of(1, 2, 3) }, /3 nodes, over a budget of 2/],
  ];
  for (const [name, tree, message] of CASES) {
    test(`${name}: the generation fails with drafter_failed naming the problem`, async () => {
      const m = await referenceModel();
      const broken: Drafter = { name: "broken", reset: () => {}, propose: () => tree, observe: () => {} };
      const run = generate(m, "def f(x):", { maxTokens: 8, drafter: broken, budget: 2 });
      const error = await run.then(() => undefined, (e: unknown) => e as { code?: string; message?: string });
      expect(error?.code).toBe("drafter_failed");
      expect(error?.message).toMatch(/^drafter broken proposed a malformed tree: /);
      expect(error?.message).toMatch(message);
    });
  }
});
