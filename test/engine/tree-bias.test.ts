import { describe, expect, test } from "bun:test";
import { Rng } from "../../src/decode/rng.ts";
import type { DraftTree } from "../../src/drafters/types.ts";
import { TreeBiasBuffer, treeAttentionBias } from "../../src/engine/tree-bias.ts";
import { randomTree } from "../helpers/test-drafters.ts";

/** Whether tree node `a` is `b` or one of its ancestors (node indices; -1 is the root). */
function onPathTo(tree: DraftTree, a: number, b: number): boolean {
  for (let n = b; n >= 0; n = tree.parents[n]!) if (n === a) return true;
  return false;
}

describe("tree attention bias", () => {
  test("row r sees the cache, the root and its node's ancestors (itself included), nothing else", () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 40; trial++) {
      const tree = randomTree(rng, 1 + Math.floor(rng.next() * 20), 100);
      const past = Math.floor(rng.next() * 30);
      const bias = treeAttentionBias(tree, past);
      const s = tree.size + 1;
      const total = past + s;
      expect(bias.length).toBe(s * total);
      for (let r = 0; r < s; r++) {
        for (let c = 0; c < total; c++) {
          const visible = c <= past || (r > 0 && onPathTo(tree, c - past - 1, r - 1));
          expect(bias[r * total + c]).toBe(visible ? 0 : -Infinity);
        }
      }
    }
  });

  test("a reused buffer gives each step the bias a fresh array would, whatever the step before left in it", () => {
    const rng = new Rng(9);
    const buffer = new TreeBiasBuffer();
    for (let step = 0; step < 200; step++) {
      // Sizes and contexts that grow and shrink, so views land on what bigger ones wrote.
      const tree = randomTree(rng, 1 + Math.floor(rng.next() * 40), 100);
      const past = Math.floor(rng.next() * 300);
      const built = buffer.build(tree, past);
      expect(Array.from(built)).toEqual(Array.from(treeAttentionBias(tree, past)));
    }
  });
});
