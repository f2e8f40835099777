import { beforeAll, describe, expect, test } from "bun:test";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { tokenizerFingerprint } from "../../src/drafters/fingerprint.ts";
import { readState, TokenizerMismatchError, writeState } from "../../src/drafters/persist.ts";
import { TokenRecyclingDrafter } from "../../src/drafters/token-recycling.ts";
import { checkTemplate, TOKEN_RECYCLING_TEMPLATE, templateFromChildCounts, templateFromPaths } from "../../src/drafters/tree-template.ts";
import { confidenceClass, type VerifyUpdate } from "../../src/drafters/types.ts";
import { EdgespecError } from "../../src/errors.ts";
import { checkTree, kernelSets, treeData } from "./helpers.ts";

let sets: KernelSet[] = [];
beforeAll(async () => {
  sets = await kernelSets();
});

const V = 1000;
const update = (verifiedTokens: number[], rows: number[][], accepted: number[] = []): VerifyUpdate => {
  const k = rows[0]?.length ?? 0;
  return { accepted, verifiedTokens, topK: Int32Array.from(rows.flat()), k };
};

/** Every row t = [8t+1 .. 8t+8] mod V: distinct candidates everywhere, so the whole template expands. */
function fullTable(d: TokenRecyclingDrafter): void {
  const tokens = Array.from({ length: V }, (_, t) => t);
  d.observe(update(tokens, tokens.map((t) => Array.from({ length: 8 }, (_, j) => (8 * t + 1 + j) % V))));
}

describe("the default template", () => {
  test("is the paper's 80-node, depth-6 tree: 8/21/25/15/8/3 per level", () => {
    const t = TOKEN_RECYCLING_TEMPLATE;
    expect(t.size).toBe(80);
    const depth = new Int32Array(t.size);
    for (let i = 0; i < t.size; i++) depth[i] = t.parents[i]! < 0 ? 1 : depth[t.parents[i]!]! + 1;
    expect([1, 2, 3, 4, 5, 6].map((d) => depth.filter((x) => x === d).length)).toEqual([8, 21, 25, 15, 8, 3]);
    // level 2: children 0..7 of rank 0, 0..3 of rank 1, 0..2 of rank 2, 0..1 of rank 3, child 0 of ranks 4..7
    const level2 = [...Array(t.size).keys()].filter((i) => depth[i] === 2).map((i) => `${t.ranks[t.parents[i]!]}:${t.ranks[i]}`);
    expect(level2).toEqual(["0:0", "0:1", "0:2", "0:3", "0:4", "0:5", "0:6", "0:7", "1:0", "1:1", "1:2", "1:3", "2:0", "2:1", "2:2", "3:0", "3:1", "4:0", "5:0", "6:0", "7:0"]);
  });

  test("paths and child counts describe the same trees", () => {
    const fromPaths = templateFromPaths([[1], [0, 0], [0], [0, 1], [0, 0, 0]]);
    const fromCounts = templateFromChildCounts([2, 2, 0, 1]);
    expect(Array.from(fromPaths.parents)).toEqual(Array.from(fromCounts.parents));
    expect(Array.from(fromPaths.ranks)).toEqual(Array.from(fromCounts.ranks));
    expect(() => templateFromPaths([[0, 1]])).toThrow(/parent path is missing/);
    expect(() => new TokenRecyclingDrafter({ vocabSize: V, recycle: { template: templateFromPaths([[8]]) } })).toThrow(/rank 8, outside \[0, 8\)/);
    // a smaller k keeps the default tree's nodes of rank < k (and their descendants of rank < k)
    const k2 = new TokenRecyclingDrafter({ vocabSize: V, recycle: { k: 2 } }).template;
    expect(k2.size).toBe(2 + 4 + 7 + 6 + 6 + 3);
    checkTemplate(k2, 2);
  });
});

describe("table update semantics", () => {
  test("every verified row is overwritten with its top-k; later rows win; short rows pad with none", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      expect(Array.from(d.row(5))).toEqual([-1, -1, -1, -1, -1, -1, -1, -1]); // cold
      d.observe(update([5, 6], [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]]));
      expect(Array.from(d.row(5))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      d.observe(update([5, 5], [[20, 21, 22, 23, 24, 25, 26, 27], [30, 31, 32, 33, 34, 35, 36, 37]]));
      expect(Array.from(d.row(5))).toEqual([30, 31, 32, 33, 34, 35, 36, 37]);
      d.observe(update([6], [[40, 41, -1]])); // k = 3 rows, -1 = no candidate
      expect(Array.from(d.row(6))).toEqual([40, 41, -1, -1, -1, -1, -1, -1]);
      d.observe(update([7], [Array.from({ length: 10 }, (_, j) => 100 + j)])); // k = 10: first 8 kept
      expect(Array.from(d.row(7))).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
      d.observe({ accepted: [1], verifiedTokens: [5], topK: new Int32Array(0), k: 0 }); // no top-k: table unchanged
      expect(Array.from(d.row(5))).toEqual([30, 31, 32, 33, 34, 35, 36, 37]);
    }
  });

  test("rows at the vocabulary edge, narrow (u16) and wide (i32) storage", () => {
    for (const kernels of sets) {
      for (const vocabSize of [65534, 65535, 100_000]) {
        const d = new TokenRecyclingDrafter({ vocabSize, kernels });
        const top = vocabSize - 1;
        d.observe(update([top, 0], [[0, top, top - 1, -1, 1, 2, 3, 4], [top, top, top, top, top, top, top, top]]));
        expect(Array.from(d.row(top))).toEqual([0, top, top - 1, -1, 1, 2, 3, 4]);
        expect(d.row(0)[7]).toBe(top);
      }
    }
  });
});

describe("tree expansion", () => {
  test("with every row filled, the tree has exactly the template's shape", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      fullTable(d);
      d.reset([3]);
      const tree = d.propose(80);
      checkTree(tree, 80, V);
      expect(Array.from(tree.parents)).toEqual(Array.from(TOKEN_RECYCLING_TEMPLATE.parents));
      // node i is child ranks[i] of its parent's token row
      for (let i = 0; i < tree.size; i++) {
        const parentToken = tree.parents[i]! < 0 ? 3 : tree.tokens[tree.parents[i]!]!;
        expect(tree.tokens[i]).toBe((8 * parentToken + 1 + TOKEN_RECYCLING_TEMPLATE.ranks[i]!) % V);
      }
      expect(new Set(tree.sources)).toEqual(new Set([0]));
    }
  });

  test("a smaller budget keeps the breadth-first prefix; cold rows prune their subtrees", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      fullTable(d);
      d.reset([3]);
      const full = d.propose(80);
      const small = d.propose(10);
      expect(treeData(small).tokens).toEqual(treeData(full).tokens.slice(0, 10));
      expect(d.propose(1).size).toBe(1);
      expect(d.propose(0).size).toBe(0);

      const cold = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      cold.observe(update([3, 25], [[25, 26, -1, -1, -1, -1, -1, -1], [7, -1, -1, -1, -1, -1, -1, -1]]));
      cold.reset([3]);
      expect(treeData(cold.propose(80))).toEqual({ tokens: [25, 26, 7], parents: [-1, -1, 0], depths: [1, 1, 2], sources: [0, 0, 0] });
      // an unknown root token: no guess
      cold.reset([999]);
      expect(cold.propose(80).size).toBe(0);
    }
  });

  test("duplicate candidates in a row are drafted once", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      d.observe(update([3], [[4, 4, 5, 4, 5, 6, 6, 6]]));
      d.reset([3]);
      expect(Array.from(d.propose(80).tokens)).toEqual([4, 5, 6]);
    }
  });

  test("the root follows the accepted tokens", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      fullTable(d);
      d.reset([3]);
      d.observe(update([3], [[1, 2, 3, 4, 5, 6, 7, 8]], [1, 2, 9]));
      expect(d.propose(1).tokens[0]).toBe((8 * 9 + 1) % V);
    }
  });
});

describe("confidence classes", () => {
  const row = (best: number) => [best, 40, 41, 42, 43, 44, 45, 46];

  test("a row's best candidate kept over rewrites, written after the token before it now, is trusted more", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
      const rootClass = () => d.propose(1).classes![0]!;
      d.reset([7, 30]);
      d.observe(update([30], [row(31)])); // a prefill's first row: nothing came before it
      const classes = [rootClass()];
      for (let i = 0; i < 5; i++) {
        d.observe(update([30], [row(31)])); // written after 7, the token before the root
        classes.push(rootClass());
      }
      expect(classes[0]).toBe(confidenceClass(0.24)); // just written, in an unknown context
      for (let i = 1; i < classes.length; i++) expect(classes[i]!).toBeGreaterThanOrEqual(classes[i - 1]!);
      expect(classes[5]).toBe(confidenceClass(0.9));
      d.observe(update([30], [row(32)])); // the best candidate changed: back down
      const changed = rootClass();
      expect(changed).toBeLessThan(classes[5]!);
      d.observe(update([30], [row(32)]));
      const sameContext = rootClass();
      d.reset([8, 30]); // the same row, now after another token
      expect(rootClass()).toBeLessThan(sameContext);
      // Only this table's nodes get a class.
      const tree = d.propose(1);
      tree.sources = Uint8Array.of(3);
      tree.classes = Uint8Array.of(0);
      expect(d.classify(tree, 0).classes![0]).toBe(0);
    }
  });

  test("a tree update's rows are written after their parents in the tree, not their neighbours in feed order", () => {
    for (const kernels of sets) {
      const classUnder50 = (parents: Int32Array | undefined) => {
        const d = new TokenRecyclingDrafter({ vocabSize: V, kernels });
        d.reset([7, 30]);
        // Fed: the root 30, then 31 and 50, both children of the root.
        for (let i = 0; i < 5; i++) d.observe({ ...update([30, 31, 50], [row(50), row(60), row(51)]), ...(parents ? { verifiedParents: parents } : {}) });
        const tree = d.propose(80);
        const node = [...tree.tokens.keys()].find((i) => tree.tokens[i] === 51 && tree.tokens[tree.parents[i]!] === 50 && tree.parents[tree.parents[i]!] === -1)!;
        expect(node).toBeDefined(); // 30 → 50 → 51
        return tree.classes![node]!;
      };
      expect(classUnder50(Int32Array.of(-1, 0, 0))).toBeGreaterThan(classUnder50(undefined));
    }
  });

  test("a bad verifiedParents is refused", () => {
    const d = new TokenRecyclingDrafter({ vocabSize: V, kernels: sets[0]! });
    d.reset([1]);
    expect(() => d.observe({ ...update([1, 2], [row(3), row(4)]), verifiedParents: Int32Array.of(-1) })).toThrow(/verifiedParents has 1 rows, expected 2/);
    expect(() => d.observe({ ...update([1, 2], [row(3), row(4)]), verifiedParents: Int32Array.of(-1, 1) })).toThrow(/verifiedParents\[1\] must be -1 or a row before 1/);
  });
});

describe("hot start", () => {
  test("the table survives reset and a save/load, also across kernel sets", () => {
    for (const from of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels: from, tokenizerFingerprint: "tok64-a" });
      fullTable(d);
      d.reset([3]);
      const before = treeData(d.propose(80));
      d.reset([1, 2, 3]); // a new request: the table stays
      expect(treeData(d.propose(80))).toEqual(before);
      const bytes = d.save();
      expect(bytes.length).toBeLessThan(V * 8 * 2 + V * 2 + 80); // u16 ids and u16 steadiness for this vocabulary
      for (const to of sets) {
        const hot = new TokenRecyclingDrafter({ vocabSize: V, kernels: to, tokenizerFingerprint: "tok64-a", recycle: { table: bytes } });
        hot.reset([3]);
        expect(treeData(hot.propose(80))).toEqual(before);
        expect(hot.save()).toEqual(bytes);
      }
    }
  });

  test("each row's steadiness is saved too, so a loaded table's nodes keep their classes; a table saved without it loads cold", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: V, kernels, tokenizerFingerprint: "tok64-a" });
      d.reset([7, 30]);
      for (let i = 0; i < 6; i++) d.observe(update([30], [[31, 40, 41, 42, 43, 44, 45, 46]])); // steady row 30
      const hot = new TokenRecyclingDrafter({ vocabSize: V, kernels, tokenizerFingerprint: "tok64-a", recycle: { table: d.save() } });
      hot.reset([8, 30]); // another context: the class comes from the steadiness alone
      d.reset([8, 30]);
      expect(hot.propose(1).classes![0]).toBe(d.propose(1).classes![0]!);
      expect(hot.propose(1).classes![0]).toBe(confidenceClass(0.77));
      // The ids alone (as saved before steadiness was): every row starts unsteady.
      const { fields, arrays } = readState(d.save(), "ESTR", 1, { fingerprint: "tok64-a", vocabSize: V }, "table");
      const idsOnly = writeState("ESTR", 1, { fingerprint: "tok64-a", vocabSize: V }, { fields, arrays: [arrays[0]!] });
      const old = new TokenRecyclingDrafter({ vocabSize: V, kernels, tokenizerFingerprint: "tok64-a", recycle: { table: idsOnly } });
      old.reset([8, 30]);
      expect(Array.from(old.row(30))).toEqual(Array.from(d.row(30)));
      expect(old.propose(1).classes![0]).toBe(confidenceClass(0.24));
      const badSteadiness = writeState("ESTR", 1, { fingerprint: "tok64-a", vocabSize: V }, { fields, arrays: [arrays[0]!, new Uint16Array(V).fill(256)] });
      expect(() => d.load(badSteadiness)).toThrow(/steadiness counts, expected 1000 in 0..255/);
    }
  });

  test("wide tables round-trip too", () => {
    const vocabSize = 70_000;
    const d = new TokenRecyclingDrafter({ vocabSize, kernels: sets[1] });
    d.observe(update([69_999], [[69_998, 0, 1, -1, 2, 3, 4, 5]]));
    const hot = new TokenRecyclingDrafter({ vocabSize, kernels: sets[0], recycle: { table: d.save() } });
    expect(Array.from(hot.row(69_999))).toEqual([69_998, 0, 1, -1, 2, 3, 4, 5]);
  });

  test("a table saved for another tokenizer, vocabulary or k is refused with a clear error", () => {
    const d = new TokenRecyclingDrafter({ vocabSize: V, tokenizerFingerprint: "tok64-a" });
    fullTable(d);
    const bytes = d.save();
    const load = (opts: { vocabSize: number; tokenizerFingerprint?: string; k?: number }) =>
      new TokenRecyclingDrafter({ ...opts, recycle: { table: bytes, k: opts.k } });
    expect(() => load({ vocabSize: 32000, tokenizerFingerprint: "tok64-a" })).toThrow(TokenizerMismatchError);
    expect(() => load({ vocabSize: V, tokenizerFingerprint: "tok64-b" })).toThrow(/saved for tokenizer "tok64-a" with 1000 tokens, but this drafter uses tokenizer "tok64-b"/);
    expect(() => load({ vocabSize: V })).toThrow(TokenizerMismatchError);
    expect(() => load({ vocabSize: V, tokenizerFingerprint: "tok64-a", k: 4 })).toThrow(/saved with k = 8, this drafter uses k = 4/);
    expect(() => d.load(bytes.subarray(0, 100))).toThrow(/truncated/);
    const corrupt = bytes.slice();
    corrupt[corrupt.length - 1] = 0xf0; // high byte of the last id: 0xF0xx, outside the vocabulary
    expect(() => d.load(corrupt)).toThrow(EdgespecError);
  });
});

describe("tokenizer fingerprint", () => {
  test("is stable for one tokenizer and differs when its vocabulary differs", async () => {
    const json = await Bun.file(new URL("../../models/edgespec-tiny/tokenizer.json", import.meta.url).pathname).json();
    const fp = tokenizerFingerprint(json);
    expect(fp).toMatch(/^tok64-[0-9a-f]{16}$/);
    expect(tokenizerFingerprint(JSON.stringify(json))).toBe(fp);
    const vocab = json.model.vocab as Record<string, number>;
    const [a, b] = Object.keys(vocab).slice(100, 102) as [string, string];
    [vocab[a], vocab[b]] = [vocab[b]!, vocab[a]!]; // two ids swapped: another tokenizer
    expect(tokenizerFingerprint(json)).not.toBe(fp);
  });
});

describe("memory", () => {
  test("the table at a 32k vocabulary is under 1 MB (u16 ids: 512 KiB)", () => {
    for (const kernels of sets) {
      const d = new TokenRecyclingDrafter({ vocabSize: 32_000, kernels });
      d.reset([1]);
      d.propose(80);
      expect(d.memoryBytes()).toBeLessThan(1_000_000);
      expect(d.memoryBytes()).toBeGreaterThanOrEqual(32_000 * 8 * 2);
    }
  });
});
