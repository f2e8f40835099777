/** A batch's generations as one: counts and times summed, rates recomputed the way one generation's are. */
import { expect, test } from "bun:test";
import type { SpecResult } from "../../src/engine/spec-stats.ts";
import { combineResults } from "../../src/server/openai.ts";

function result(tokens: number, decodeMs: number, steps: number): SpecResult {
  return {
    text: "x".repeat(tokens),
    tokens: Array.from({ length: tokens }, (_, i) => i),
    finishReason: "length",
    stats: { promptTokens: 3, tokens, prefillMs: 10, decodeMs, seconds: (10 + decodeMs) / 1000, tokensPerSecond: 0, steps, draftedTokens: 0, acceptedTokens: 0, drafterMs: 0, perDrafter: {} },
  } as unknown as SpecResult;
}

test("a batch's rate counts each generation's tokens after its first (the prefill's), over the decode time summed", () => {
  const all = combineResults([result(5, 100, 2), result(3, 100, 1)]);
  expect(all.stats.tokens).toBe(8);
  expect(all.stats.decodeMs).toBe(200);
  // (5 - 1) + (3 - 1) tokens decoded in 200 ms.
  expect(all.stats.tokensPerSecond).toBe(30);
  expect(all.stats.meanAcceptedLength).toBe(2);
  expect(all.stats.promptTokens).toBe(6);
});
