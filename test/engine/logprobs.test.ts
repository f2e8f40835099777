/**
 * Logprobs under speculation: every output token's log-probability (and its alternatives) is the
 * one plain decoding reports, whichever drafter produced the step, with penalties on or off.
 */
import { expect, test } from "bun:test";
import { generatePlain } from "../../src/decode/plain.ts";
import { buildDrafter, DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { referenceModel } from "../helpers/model.ts";

test("every drafter's logprobs equal plain decoding's (1e-4), alternatives included; chunks carry their tokens' logprobs", async () => {
  const m = await referenceModel("fp32");
  const prompt = "def get_name(self):\n    return self.name\n\ndef get_path(self):\n";
  for (const extra of [{}, { repetitionPenalty: 1.2, presencePenalty: 0.3 }]) {
    const opts = { maxTokens: 32, stopAtEos: false, logprobs: 3, ...extra };
    const plain = await generatePlain(m, prompt, opts);
    expect(plain.logprobs!.length).toBe(plain.tokens.length);
    expect(plain.logprobs!.map((l) => l.token)).toEqual(plain.tokens);
    for (const l of plain.logprobs!) {
      expect(l.top.length).toBe(3);
      expect(l.top[0]!.token).toBe(l.token); // greedy: the chosen token is the most likely one
      expect(l.logprob).toBeLessThanOrEqual(0);
    }
    for (const name of DRAFTER_NAMES.filter((n) => n !== "none")) {
      const streamed: number[] = [];
      const r = await generate(m, prompt, { ...opts, drafter: buildDrafter(m, { name }), budget: 16, onText: (_t, meta) => streamed.push(...(meta.logprobs ?? []).map((l) => l.token)) });
      expect(r.tokens).toEqual(plain.tokens);
      expect(r.stats.acceptedTokens).toBeGreaterThan(0);
      expect(streamed).toEqual(r.tokens.slice(0, streamed.length));
      expect(streamed.length).toBeGreaterThan(r.tokens.length - 4);
      r.logprobs!.forEach((l, i) => {
        const want = plain.logprobs![i]!;
        expect(l.top.map((t) => t.token)).toEqual(want.top.map((t) => t.token));
        expect(Math.abs(l.logprob - want.logprob)).toBeLessThan(1e-4);
      });
    }
  }
});
