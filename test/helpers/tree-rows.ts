/**
 * Tree verification against plain decoding, row by row: one tree forward over a random tree, and
 * for each node (and the root) a plain forward of its root-to-node path. What a tree forward gives
 * a node must be what plain decoding of that node's path gives.
 */
import { argmax } from "../../src/decode/sampler.ts";
import type { Rng } from "../../src/decode/rng.ts";
import { treeAttentionBias, treePositions } from "../../src/engine/tree-bias.ts";
import type { LanguageModel } from "../../src/model/causal-lm.ts";
import { randomTree } from "./test-drafters.ts";

export interface TreeRowsResult {
  /** Largest |tree logit - plain path logit| over all rows and vocabulary entries. */
  worst: number;
  /** Rows whose argmax differs between the two. */
  flips: number;
  rows: number;
}

/** `lm` verifies the trees (tree attention); `plainLm` decodes the paths (may be the same model). */
export async function compareTreeRows(lm: LanguageModel, plainLm: LanguageModel, prompt: number[], sizes: readonly number[], rng: Rng): Promise<TreeRowsResult> {
  const V = lm.spec.vocabSize;
  const past = prompt.slice(0, -1);
  const root = prompt[prompt.length - 1]!;
  const r: TreeRowsResult = { worst: 0, flips: 0, rows: 0 };
  for (const size of sizes) {
    const tree = randomTree(rng, size, V);
    const cache = lm.newCache();
    await lm.forward(past, past.map((_, i) => i), cache);
    const logits = await lm.forward([root, ...tree.tokens], treePositions(tree, past.length), cache, { attentionBias: treeAttentionBias(tree, past.length) });
    for (let n = -1; n < size; n++) {
      const path: number[] = [];
      for (let k = n; k >= 0; k = tree.parents[k]!) path.unshift(tree.tokens[k]!);
      const seq = [...past, root, ...path];
      const ref = await plainLm.forward(seq, seq.map((_, i) => i), plainLm.newCache());
      const off = (seq.length - 1) * V;
      const row = (n + 1) * V;
      for (let v = 0; v < V; v++) r.worst = Math.max(r.worst, Math.abs(logits[row + v]! - ref[off + v]!));
      if (argmax(logits, row, V) !== argmax(ref, off, V)) r.flips++;
      r.rows++;
    }
  }
  return r;
}
