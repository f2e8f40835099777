/**
 * The reported stats, recomputed from raw counts a recording drafter sees: steps, drafted and
 * accepted tokens, meanAcceptedLength as documented (tokens emitted per verification step, bonus
 * included; the prefill's token is not a step), per-drafter acceptance, budgets and tokens/s.
 */
import { describe, expect, test } from "bun:test";
import { generatePlain } from "../../src/decode/plain.ts";
import type { DraftTree, Drafter, VerifyUpdate } from "../../src/drafters/types.ts";
import { generate } from "../../src/engine/speculative.ts";
import { referenceModel } from "../helpers/model.ts";
import { RandomTreeDrafter, ScriptedDrafter } from "../helpers/test-drafters.ts";

/** Passes everything through to `inner`, recording each proposal's size and each observation. */
class Recording implements Drafter {
  readonly proposed: number[] = [];
  readonly accepted: number[] = []; // per verification step: accepted draft tokens (bonus excluded)
  private prefill = true;
  constructor(private readonly inner: Drafter) {}
  get name() {
    return this.inner.name;
  }
  reset(p: ArrayLike<number>) {
    this.prefill = true;
    this.inner.reset(p);
  }
  propose(budget: number): DraftTree {
    const t = this.inner.propose(budget);
    this.proposed.push(t.size);
    return t;
  }
  observe(u: VerifyUpdate) {
    if (!this.prefill) this.accepted.push(u.accepted.length - 1);
    this.prefill = false;
    this.inner.observe(u);
  }
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const PROMPT = "def parse_args(argv):\n    parser = argparse.ArgumentParser()\n";

describe("stats from raw counts", () => {
  test("a run that ends inside an accepted run (a stop string): every formula", async () => {
    const m = await referenceModel("fp32");
    const full = await generatePlain(m, PROMPT, { maxTokens: 40, stopAtEos: false });
    // An oracle with budget 8 emits 9 tokens a step; a stop string in the middle of the text
    // arrives inside such a run, so the step's last accepted tokens are never emitted.
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 3);
    const plain = await generatePlain(m, PROMPT, { maxTokens: 40, stopAtEos: false, stop: [stop] });
    const rec = new Recording(new ScriptedDrafter(full.tokens, m.lm.spec.vocabSize));
    const r = await generate(m, PROMPT, { maxTokens: 40, stopAtEos: false, stop: [stop], drafter: rec, budget: 8 });
    const s = r.stats;
    const n = plain.tokens.length;
    expect(r.finishReason).toBe("stop");
    expect(r.tokens).toEqual(plain.tokens);
    expect(s.steps).toBe(rec.accepted.length);
    expect(s.draftedTokens).toBe(rec.proposed.reduce((a, b) => a + b, 0));
    expect(s.acceptedTokens).toBe(rec.accepted.reduce((a, b) => a + b, 0));
    expect(s.tokens).toBe(n);
    // Documented: tokens emitted per step, bonus included; the prefill's token is not a step. The
    // last step was cut by the stop string, so this is not (accepted + steps) / steps.
    expect(s.acceptedTokens + s.steps).toBeGreaterThan(n - 1);
    expect(s.meanAcceptedLength).toBe(r3((n - 1) / s.steps));
    expect(s.perDrafter.oracle).toEqual({ drafted: s.draftedTokens, accepted: s.acceptedTokens, acceptance: r3(s.acceptedTokens / s.draftedTokens) });
    expect(s.budgets).toEqual({ "8": s.steps });
    // Decoding's rate counts the tokens after the first, which came with the prefill (as the bench does).
    expect(s.tokensPerSecond).toBeCloseTo(((n - 1) / s.decodeMs) * 1000, -1);
    expect(s.seconds).toBeCloseTo((s.prefillMs + s.decodeMs) / 1000, 2);
    expect(s.promptTokens).toBe(m.tokenizer.encode(PROMPT, true).length);
  });

  test("random trees with partial acceptance: counts and per-drafter acceptance", async () => {
    const m = await referenceModel("fp32");
    const plain = await generatePlain(m, PROMPT, { maxTokens: 32, stopAtEos: false });
    const rec = new Recording(new RandomTreeDrafter([...new Set(plain.tokens)], 9));
    const r = await generate(m, PROMPT, { maxTokens: 32, stopAtEos: false, drafter: rec, budget: 12 });
    const s = r.stats;
    expect(r.tokens).toEqual(plain.tokens);
    expect(s.steps).toBe(rec.accepted.length);
    expect(s.acceptedTokens).toBe(rec.accepted.reduce((a, b) => a + b, 0));
    expect(s.acceptedTokens).toBeGreaterThan(0);
    expect(s.acceptedTokens).toBeLessThan(s.draftedTokens);
    expect(s.draftedTokens).toBe(rec.proposed.reduce((a, b) => a + b, 0));
    expect(s.meanAcceptedLength).toBe(r3(31 / s.steps));
    const d = s.perDrafter["random-tree"]!;
    expect(d).toEqual({ drafted: s.draftedTokens, accepted: s.acceptedTokens, acceptance: r3(s.acceptedTokens / s.draftedTokens) });
  });

  test("stepMs: the parts add up to decode time, and a slow drafter shows as draft time", async () => {
    const m = await referenceModel("fp32");
    const plain = await generatePlain(m, PROMPT, { maxTokens: 24, stopAtEos: false });
    /** Proposes like the oracle, 3 ms late every time. */
    class Slow extends ScriptedDrafter {
      override propose(budget: number): DraftTree {
        const until = performance.now() + 3;
        while (performance.now() < until);
        return super.propose(budget);
      }
    }
    const r = await generate(m, PROMPT, { maxTokens: 24, stopAtEos: false, drafter: new Slow(plain.tokens, m.lm.spec.vocabSize), budget: 4 });
    const t = r.stats.stepMs;
    const parts = t.forward + t.draft + t.select + t.verify + t.kv + t.other;
    expect(parts).toBeCloseTo(r.stats.decodeMs, 0);
    expect(t.draft).toBeGreaterThanOrEqual(3 * r.stats.steps);
    expect(t.draft).toBe(r.stats.drafterMs);
    expect(t.forward).toBeGreaterThan(0);
    for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
  });

  test("plain decoding through the engine: one token per step, nothing drafted", async () => {
    const m = await referenceModel("fp32");
    const r = await generate(m, PROMPT, { maxTokens: 10, stopAtEos: false });
    expect(r.stats.steps).toBe(9);
    expect(r.stats.draftedTokens).toBe(0);
    expect(r.stats.meanAcceptedLength).toBe(1);
    expect(r.stats.drafter).toBe("none");
  });
});
