/**
 * Lossless sampling: with speculation on, sampled sequences follow the model's own distribution.
 * Checked on a 4-token Markov chain whose sequence probabilities are known exactly, with a chi-square
 * test strong enough that a plausible-looking wrong acceptance rule fails it.
 */
import { describe, expect, test } from "bun:test";
import { Rng } from "../../src/decode/rng.ts";
import type { Sampler } from "../../src/decode/sampler.ts";
import type { DraftTree, Drafter } from "../../src/drafters/types.ts";
import { generate } from "../../src/engine/speculative.ts";
import { type Verdict, verifyTree } from "../../src/engine/verify.ts";
import type { LoadedModel } from "../../src/model/load.ts";
import { MarkovModel } from "../helpers/markov.ts";
import { referenceModel } from "../helpers/model.ts";
import { CHAIN_LOGITS, CRITICAL, LEN, N, sequenceChiSquare } from "../helpers/sequence-chi-square.ts";


/** Always the same tree: 3 and 0 under the root, 3 under the first 3. */
class FixedTreeDrafter implements Drafter {
  readonly name = "fixed";
  reset(): void {}
  observe(): void {}
  propose(budget: number): DraftTree {
    const n = Math.min(3, budget);
    return { size: n, tokens: Int32Array.from([3, 0, 3]).subarray(0, n), parents: Int32Array.from([-1, -1, 0]).subarray(0, n), depths: Int32Array.from([1, 1, 2]).subarray(0, n) };
  }
}

/** A wrong rule that looks reasonable: accept a drafted child with probability p(child). */
function naiveVerify(rng: Rng) {
  return (tree: DraftTree, logits: Float32Array, vocab: number, sampler: Sampler): Verdict => {
    const path: number[] = [];
    let node = -1;
    for (;;) {
      const d = sampler.distribution(logits, (node + 1) * vocab, vocab);
      const child = [...tree.parents.keys()].find((i) => tree.parents[i] === node);
      if (child !== undefined) {
        const p = d.probs[[...d.ids.subarray(0, d.size)].indexOf(tree.tokens[child]!)] ?? 0;
        if (rng.next() < p) {
          path.push(child);
          node = child;
          continue;
        }
      }
      return { path, bonus: sampler.draw(d) };
    }
  };
}

async function chiSquare(verify?: typeof verifyTree): Promise<{ chi2: number; tv: number }> {
  const tokenizer = (await referenceModel()).tokenizer;
  const lm = new MarkovModel(CHAIN_LOGITS);
  const model: LoadedModel = { dir: "markov", lm, tokenizer, loadMs: 0 };
  const counts = new Map<string, number>();
  for (let n = 0; n < N; n++) {
    const r = await generate(model, [1], { maxTokens: LEN, temperature: 1, seed: n, drafter: new FixedTreeDrafter(), budget: 3, verify });
    const key = r.tokens.join(",");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return sequenceChiSquare(counts, (seq) => lm.probability(1, seq));
}


describe("lossless sampling", () => {
  test("speculative sampling matches the exact sequence distribution", async () => {
    const { chi2, tv } = await chiSquare();
    console.log(`edgespec rule: chi2 ${chi2.toFixed(1)} (63 dof), total variation ${tv.toFixed(4)}`);
    expect(chi2).toBeLessThan(CRITICAL);
  });

  test("the same test catches a wrong acceptance rule", async () => {
    const { chi2, tv } = await chiSquare(naiveVerify(new Rng(77)));
    console.log(`naive rule: chi2 ${chi2.toFixed(1)}, total variation ${tv.toFixed(4)}`);
    expect(chi2).toBeGreaterThan(CRITICAL);
  });
});
