/**
 * Logit bias, repetition / presence / frequency penalties and min_p under speculation. Each tree
 * node's row is transformed with that node's own history, so greedy speculative output equals
 * plain output with the same settings (every drafter), and sampled sequences follow the
 * transformed distribution exactly (chi-square on a Markov chain against an independent
 * computation of the sequence probabilities).
 */
import { describe, expect, test } from "bun:test";
import { generatePlain } from "../../src/decode/plain.ts";
import { LogitsProcessor } from "../../src/decode/logits-processor.ts";
import { Sampler } from "../../src/decode/sampler.ts";
import type { DraftTree, Drafter } from "../../src/drafters/types.ts";
import { buildDrafter, DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import type { LoadedModel } from "../../src/model/load.ts";
import { MarkovModel } from "../helpers/markov.ts";
import { referenceModel } from "../helpers/model.ts";
import { CHAIN_LOGITS, CRITICAL, LEN, N, sequenceChiSquare } from "../helpers/sequence-chi-square.ts";

describe("LogitsProcessor", () => {
  test("bias, repetition (prompt + output, HF's sign rule), presence and frequency (output + pending)", () => {
    const p = new LogitsProcessor({ logitBias: { 0: 5 }, repetitionPenalty: 2, presencePenalty: 0.5, frequencyPenalty: 0.25 });
    p.begin([1]); // token 1 is in the prompt
    p.accept(2);
    p.accept(2);
    const row = Float32Array.of(1, 4, -2, 3, 0.5);
    const { data, offset } = p.process(row, 0, 5, [3]);
    const r = Array.from(data.subarray(offset, offset + 5));
    // 0: +5 bias only. 1: prompt -> 4 / 2. 2: output x2 -> -2 * 2 - 0.5 - 0.5. 3: pending x1 -> 3 / 2 - 0.5 - 0.25. 4: untouched.
    expect(r).toEqual([6, 2, -5, 0.75, 0.5]);
    expect(Array.from(row)).toEqual([1, 4, -2, 3, 0.5]); // the model's row is not modified
  });

  test("min_p drops tokens below min_p times the top probability", () => {
    const s = new Sampler({ temperature: 1, minP: 0.3, seed: 1 });
    const logits = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.1), Math.log(0.1));
    const d = s.distribution(logits, 0, 4);
    expect(Array.from(d.ids.subarray(0, d.size))).toEqual([0, 1]);
    expect(d.probs[0]! + d.probs[1]!).toBeCloseTo(1, 6);
  });
});

const SETTINGS = { repetitionPenalty: 1.3, presencePenalty: 0.4, frequencyPenalty: 0.3, logitBias: { 220: -3, 29: 2 } };

describe("greedy with penalties and logit bias", () => {
  test("every drafter reproduces plain decoding with the same settings; the settings change the output", async () => {
    const m = await referenceModel("fp32");
    const prompts = ["a = [1, 2, 3]\nb = [1, 2, 3]\nc = [", "def get_name(self):\n    return self.name\n\ndef get_path(self):\n"];
    let changed = 0;
    let accepted = 0;
    for (const prompt of prompts) {
      const opts = { maxTokens: 40, stopAtEos: false, ...SETTINGS };
      const plain = await generatePlain(m, prompt, opts);
      const unpenalized = await generatePlain(m, prompt, { maxTokens: 40, stopAtEos: false });
      if (plain.tokens.join() !== unpenalized.tokens.join()) changed++;
      for (const name of DRAFTER_NAMES.filter((n) => n !== "none")) {
        for (const budget of [24, "auto"] as const) {
          const r = await generate(m, prompt, { ...opts, drafter: buildDrafter(m, { name }), budget });
          expect({ name, budget, tokens: r.tokens }).toEqual({ name, budget, tokens: plain.tokens });
          accepted += r.stats.acceptedTokens;
        }
      }
    }
    expect(changed).toBe(prompts.length);
    expect(accepted).toBeGreaterThan(0);
  });
});

const MARKOV = { temperature: 0.9, repetitionPenalty: 1.5, presencePenalty: 0.3, frequencyPenalty: 0.4, logitBias: { 2: 0.7 } };

/** Drafts a tree that repeats tokens (so penalties differ between a node and its parent's row). */
class RepeatingTreeDrafter implements Drafter {
  readonly name = "repeating";
  reset(): void {}
  observe(): void {}
  propose(budget: number): DraftTree {
    const n = Math.min(4, budget);
    return { size: n, tokens: Int32Array.from([3, 1, 3, 3]).subarray(0, n), parents: Int32Array.from([-1, -1, 0, 2]).subarray(0, n), depths: Int32Array.from([1, 1, 2, 3]).subarray(0, n) };
  }
}

/** Independent of src/: the probability of `seq` after prompt [1] under MARKOV's transforms. */
function exactProbability(seq: number[]): number {
  const prompt = [1];
  let p = 1;
  let prev = 1;
  const out: number[] = [];
  for (const t of seq) {
    const row = CHAIN_LOGITS[prev]!.map((x, v) => {
      let y = x + ((MARKOV.logitBias as Record<number, number>)[v] ?? 0);
      const count = out.filter((o) => o === v).length;
      if (prompt.includes(v) || count > 0) y = y > 0 ? y / MARKOV.repetitionPenalty : y * MARKOV.repetitionPenalty;
      if (count > 0) y -= MARKOV.presencePenalty + MARKOV.frequencyPenalty * count;
      return y / MARKOV.temperature;
    });
    const z = row.reduce((a, x) => a + Math.exp(x), 0);
    p *= Math.exp(row[t]!) / z;
    out.push(t);
    prev = t;
  }
  return p;
}

test("sampling with penalties and logit bias under speculation follows the exact transformed distribution", async () => {
  const tokenizer = (await referenceModel()).tokenizer;
  const model: LoadedModel = { dir: "markov", lm: new MarkovModel(CHAIN_LOGITS), tokenizer, loadMs: 0 };
  const counts = new Map<string, number>();
  let accepted = 0;
  for (let n = 0; n < N; n++) {
    const r = await generate(model, [1], { maxTokens: LEN, seed: n, drafter: new RepeatingTreeDrafter(), budget: 4, ...MARKOV });
    counts.set(r.tokens.join(","), (counts.get(r.tokens.join(",")) ?? 0) + 1);
    accepted += r.stats.acceptedTokens;
  }
  const { chi2 } = sequenceChiSquare(counts, exactProbability);
  console.log(`penalised sampling: chi2 ${chi2.toFixed(1)} (63 dof), ${accepted} drafted tokens accepted`);
  expect(accepted).toBeGreaterThan(N / 4);
  expect(chi2).toBeLessThan(CRITICAL);
});
