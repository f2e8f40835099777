import { beforeAll, describe, expect, test } from "bun:test";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { TreeBuilder } from "../../src/drafters/tree-builder.ts";
import { checkTree, kernelSets, treeData } from "./helpers.ts";

let sets: KernelSet[] = [];
beforeAll(async () => {
  sets = await kernelSets();
});

describe.each(["ts", "wasm"])("tree kernel (%s)", (name) => {
  const make = () => sets.find((s) => s.name === name)!.tree();

  test("dedupes by (parent, token) and respects the capacity", () => {
    const t = make();
    t.clear(3);
    const a = t.add(-1, 5, 0);
    const b = t.add(a, 6, 1);
    expect([t.add(-1, 5, 2), t.add(a, 6, 2)]).toEqual([a, b]); // same paths: same nodes
    expect(t.add(-1, 6, 2)).toBe(2); // same token, other parent: a new node
    expect(t.add(-1, 7, 2)).toBe(-1); // full
    expect(t.add(a, 6, 2)).toBe(b); // … but existing paths are still found
    expect(t.size).toBe(3);
  });

  test("finish gives breadth-first order, remapped parents, and the first source of each node", () => {
    const t = make();
    t.clear(10);
    let p = -1;
    for (const tok of [1, 2, 3]) p = t.add(p, tok, 1); // a chain: depths 1, 2, 3
    const r = t.add(-1, 9, 0);
    t.add(r, 8, 0);
    t.add(0, 2, 3); // already there (source stays 1)
    const tree = t.finish();
    checkTree(tree, 10, 10);
    expect(treeData(tree)).toEqual({ tokens: [1, 9, 2, 8, 3], parents: [-1, -1, 0, 1, 2], depths: [1, 1, 2, 2, 3], sources: [1, 0, 1, 0, 1] });
    t.clear(10);
    expect(t.finish().size).toBe(0);
    expect(tree.size).toBe(5); // a finished tree is a copy: clearing does not touch it
  });

  test("a node a second source proposes too is marked agreed; its first source stays", () => {
    const t = make();
    t.clear(3);
    const a = t.add(-1, 5, 0);
    t.add(a, 6, 0);
    t.add(-1, 7, 3);
    expect(t.add(-1, 5, 0)).toBe(a); // the same source again: not agreed
    t.add(-1, 7, 2); // another source
    expect(t.add(a, 8, 2)).toBe(-1); // full: nothing added, nothing marked
    const tree = t.finish();
    expect(treeData(tree)).toMatchObject({ tokens: [5, 7, 6], sources: [0, 3, 0] });
    expect(Array.from(tree.agreed!)).toEqual([0, 1, 0]);
    t.clear(3);
    t.add(-1, 7, 4);
    expect(Array.from(t.finish().agreed!)).toEqual([0]); // a clear forgets the marks
  });

  test("grows past its first allocation", () => {
    const t = make();
    t.clear(1000);
    for (let i = 0; i < 1000; i++) t.add(i % 2 ? -1 : i - 1, i, 0);
    const tree = t.finish();
    expect(tree.size).toBe(1000);
    checkTree(tree, 1000, 1000);
  });
});

test("chains stop at a document separator", () => {
  const t = new TreeBuilder(10);
  t.addChain(Int32Array.from([4, 5, -1, 6]), 0, 4, 0);
  expect(Array.from(t.finish().tokens)).toEqual([4, 5]);
});
