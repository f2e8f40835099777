import { expect, test } from "bun:test";
import prompts from "../../bench/prompts.json";
import { referenceModel } from "../helpers/model.ts";

test("the bench suite: >= 60 prompts, >= 5 workloads, each leaving room for 128 new tokens", async () => {
  const m = await referenceModel();
  const workloads = new Set(prompts.prompts.map((p) => p.workload));
  expect(prompts.prompts.length).toBeGreaterThanOrEqual(60);
  expect(workloads.size).toBeGreaterThanOrEqual(5);
  for (const p of prompts.prompts) {
    expect(m.tokenizer.encode(p.prompt, true).length + 128).toBeLessThanOrEqual(m.lm.spec.contextLength);
  }
});
