/**
 * The bench core on a tiny run: every config runs on every prompt in every pass, figures are
 * medians over passes with their range, decode rates leave out the prefill's token, and a peer's
 * output is compared with plain decoding's.
 */
import { expect, test } from "bun:test";
import prompts from "../../bench/prompts.json";
import { type BenchPrompt, benchMarkdown, runSpeculativeBench, stepMarkdown } from "../../src/benchmark/speculative.ts";
import { createDrafter } from "../../src/drafters/index.ts";
import { generate } from "../../src/engine/speculative.ts";
import { referenceModel } from "../helpers/model.ts";

test("runSpeculativeBench: passes, medians with ranges, lossless drafters, a peer compared with plain", async () => {
  const model = await referenceModel();
  const suite = (prompts.prompts as BenchPrompt[]).filter((p) => p.id === "code-00" || p.id === "extract-00");
  const peerRuns: string[] = [];
  const report = await runSpeculativeBench(model, suite, {
    drafters: ["sam", "hybrid"],
    makeDrafter: (name) => createDrafter(name, { vocabSize: model.lm.spec.vocabSize }),
    maxTokens: 12,
    repeats: 2,
    peer: {
      name: "peer",
      // A peer that gets code-00 right and extract-00 wrong, in a known time.
      run: async (p) => {
        peerRuns.push(p.id);
        const plain = await generate(model, p.prompt, { maxTokens: 12, stopAtEos: false });
        return { tokens: p.id === "code-00" ? plain.tokens : plain.tokens.map((t) => t + 1), decodeMs: 10, firstTokenMs: p.id === "code-00" ? 3 : 5 };
      },
    },
  });
  expect(report.repeats).toBe(2);
  expect(peerRuns).toEqual(["code-00", "code-00", "extract-00", "code-00", "extract-00"]); // warm-up, then 2 passes
  const all = report.results.all!;
  expect(Object.keys(all).sort()).toEqual(["hybrid", "peer", "plain", "sam"]);
  for (const config of ["plain", "sam", "hybrid"]) {
    const c = all[config]!;
    expect(c.mismatches).toBe(0);
    expect(c.tokens).toBe(2 * 2 * 12); // 2 passes x 2 prompts x 12 tokens
    expect(c.speedupRange[0]).toBeLessThanOrEqual(c.speedup);
    expect(c.speedupRange[1]).toBeGreaterThanOrEqual(c.speedup);
    expect(c.tokensPerSecondRange[0]).toBeLessThanOrEqual(c.tokensPerSecond);
    expect(c.tokensPerSecondRange[1]).toBeGreaterThanOrEqual(c.tokensPerSecond);
  }
  expect(all.plain!.speedup).toBe(1);
  expect(all.peer!.mismatches).toBe(2); // extract-00, in each pass
  // The peer decoded 11 tokens after its first in 10 ms per prompt: 2 prompts -> 22 tokens in 20 ms.
  expect(all.peer!.tokensPerSecond).toBe(1100);
  expect(report.meanSpeedup.peer).toBeGreaterThan(0);
  // Time to the first token: the mean per prompt (3 and 5 ms), per workload and over all; edgespec's
  // own configs report their prefill.
  expect([all.peer!.firstTokenMs, report.results["code"]!.peer!.firstTokenMs]).toEqual([4, 3]);
  for (const config of ["plain", "sam", "hybrid"]) expect(all[config]!.firstTokenMs).toBeGreaterThan(0);
  const md = benchMarkdown(report);
  expect(md).toContain("| all |");
  expect(md).toMatch(/hybrid speedup/);
  expect(md).toMatch(/\d+(\.\d+)?x \(\d+(\.\d+)?–\d+(\.\d+)?\)/);
  // Where decode time went: the parts cover it (other is the remainder), forward dominates,
  // plain steps spend nothing drafting; the peer has no breakdown.
  for (const config of ["plain", "sam", "hybrid"]) {
    const share = all[config]!.stepShare!;
    expect(Object.values(share).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 1);
    expect(share.forward!).toBeGreaterThan(0.5);
  }
  expect(all.plain!.stepShare!.draft).toBe(0);
  expect(all.hybrid!.stepShare!.draft).toBeGreaterThan(0);
  expect(all.peer!.stepShare).toBeUndefined();
  expect(stepMarkdown(report)).toMatch(/\| hybrid \| \d+\.\d% \|/);
});

test("runSpeculativeBench: no drafter meets a prompt twice (fresh drafters per pass, throwaway ones for the warm-up)", async () => {
  const model = await referenceModel();
  const suite = (prompts.prompts as BenchPrompt[]).filter((p) => p.id === "code-00" || p.id === "edit-00");
  // Every instance made, with the prompts it was reset with (the prompt's tokens, joined).
  const seen: { name: string; prompts: string[]; disposed: boolean }[] = [];
  await runSpeculativeBench(model, suite, {
    drafters: ["sam", "hybrid"],
    makeDrafter: (name) => {
      const d = createDrafter(name, { vocabSize: model.lm.spec.vocabSize });
      const record = { name, prompts: [] as string[], disposed: false };
      seen.push(record);
      const reset = d.reset.bind(d);
      d.reset = (tokens) => {
        record.prompts.push(Array.from(tokens).join(","));
        reset(tokens);
      };
      const dispose = d.dispose.bind(d);
      d.dispose = () => {
        record.disposed = true;
        dispose();
      };
      return d;
    },
    maxTokens: 6,
    repeats: 3,
  });
  expect(seen.length).toBe(2 * (1 + 3)); // the warm-up's, then each pass's
  for (const r of seen) {
    // A second meeting would draft the prompt's answer from memory of the first (request history).
    expect(new Set(r.prompts).size).toBe(r.prompts.length);
    expect(r.disposed).toBe(true);
  }
  // Within a pass one instance serves every prompt, as a server's drafter would.
  expect(seen.slice(2).every((r) => r.prompts.length === suite.length)).toBe(true);
});

test("runSpeculativeBench times the cost curve before its runs, as a server does, unless told to learn it (a one-shot run's)", async () => {
  const { modelView } = await import("../../src/model/model-view.ts");
  const model = await referenceModel();
  const suite = (prompts.prompts as BenchPrompt[]).filter((p) => p.id === "code-00");
  for (const costCurve of ["timed", "learned"] as const) {
    // A view of its own (its own curve). The curve's forwards feed 96 tokens after a 96-token
    // context (VerifyCostModel.measure); the runs' never do (12 tokens each).
    let curveForwards = 0;
    const view = modelView(model, (inner) => ({ forward: (t, p, c, o) => ((curveForwards += t.length === 96 && p[0] === 96 ? 1 : 0), inner.forward(t, p, c, o)) }));
    const report = await runSpeculativeBench(view, suite, { drafters: ["hybrid"], makeDrafter: (name) => createDrafter(name, { vocabSize: model.lm.spec.vocabSize }), maxTokens: 12, costCurve });
    expect(report.results.all!.hybrid!.mismatches).toBe(0);
    // Timed: 5 rounds over the grid, 96 tokens among its sizes.
    expect(curveForwards).toBe(costCurve === "timed" ? 5 : 0);
  }
});
