/**
 * A server that drafts times its verify cost curve as it starts (setup.runner: prepare), so its
 * first requests' trees are sized on a whole, warm curve: the curve's forwards all run before the
 * first job's prefill, and none after. Without prepare nothing times it: the jobs' own steps do.
 */
import { expect, test } from "bun:test";
import { createDrafter } from "../../src/drafters/index.ts";
import { VerifyCostModel } from "../../src/engine/cost-model.ts";
import { verifyCostModel } from "../../src/engine/cost-curves.ts";
import { modelView } from "../../src/model/model-view.ts";
import { inProcessRunner, type RunJob } from "../../src/server/model-runner.ts";
import { referenceModel } from "../helpers/model.ts";

const job = (ids: number[]): RunJob => ({ ids, maxTokens: 16, temperature: 0, topP: 1, topK: 0, penalties: { presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1, minP: 0 }, stop: [], stopAtEos: false, drafter: "hybrid", budget: "auto" });

test("a runner that prepares times the verify cost curve before its first job; one that does not never runs its forwards", async () => {
  const m = await referenceModel();
  const ids = m.tokenizer.encode("def main():");
  for (const prepare of [true, false]) {
    // The curve's forwards start with a 96-token context (VerifyCostModel.measure) and then read
    // back ids, as greedy steps do ("step"); the job's prefill is its prompt.
    const log: string[] = [];
    const view = modelView(m, (inner) => ({
      forward: (t, p, c, o) => (log.push(t.length === 96 ? "curve" : "forward"), inner.forward(t, p, c, o)),
      forwardLast: (t, p, c, k) => (log.push("prefill"), inner.forwardLast!(t, p, c, k)),
      forwardTop: (t, p, c, k, o) => (log.push("step"), inner.forwardTop!(t, p, c, k, o)),
    }));
    const drafter = createDrafter("hybrid", { vocabSize: m.lm.spec.vocabSize });
    const runner = inProcessRunner(view, { prepare, yieldToEventLoop: false, drafterFor: () => drafter });
    await runner.prepared;
    const timed = log.length;
    // What a greedy request sizes its trees with: the curve just timed, or (not prepared) the prior, untimed.
    const untimed = VerifyCostModel.learned().summary();
    expect((await verifyCostModel(view.lm)).summary().some((p, i) => p.ms !== untimed[i]!.ms)).toBe(prepare);
    const outcome = await runner.run(job(ids), new AbortController().signal);
    expect(outcome.result.stats.verifyCost.length).toBeGreaterThan(0);
    // The job sized its trees on the greedy (ids) curve: the one prepare timed, when it ran.
    expect(outcome.result.stats.verifyCost).toEqual((await verifyCostModel(view.lm, "ids")).summary());
    if (prepare) {
      // The curve: a 96-token context, the warm-up, 5 rounds over 9 sizes, each timed forward
      // reading back what the job's steps read (ids); then the job alone.
      expect(log[0]).toBe("curve");
      expect(timed).toBeGreaterThan(1 + 5 * 9);
      expect(new Set(log.slice(1, timed))).toEqual(new Set(["step"]));
      expect(log[timed]).toBe("prefill");
      expect(log.slice(timed)).not.toContain("curve");
    } else {
      expect(timed).toBe(0);
      expect(log[0]).toBe("prefill");
      expect(log).not.toContain("curve");
    }
    drafter.dispose();
  }
});
