/**
 * The WASM kernels (wasm/src) and their TypeScript twins (src/drafters/kernels/ts) driven with the
 * same random token streams must propose identical trees and hold identical state.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { CorpusIndex } from "../../src/drafters/corpus-index.ts";
import { createDrafter, DRAFTER_NAMES, type DrafterOptions } from "../../src/drafters/index.ts";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { FakeVerifier, kernelSets, randomStream, realStreams, repetitiveStream, Rng, treeData } from "./helpers.ts";

let ts: KernelSet;
let wasm: KernelSet;
beforeAll(async () => {
  [ts, wasm] = await kernelSets();
});

/** Runs a TS and a WASM drafter in lockstep over `truth`; every proposal must be equal. */
function lockstep(name: string, opts: Omit<DrafterOptions, "kernels">, truth: Int32Array, vocabSize: number, rng: Rng): number {
  const a = createDrafter(name, { ...opts, kernels: ts });
  const b = createDrafter(name, { ...opts, kernels: wasm });
  const v = new FakeVerifier(truth, vocabSize);
  const promptLength = 1 + Math.floor(rng.next() * 200);
  const prompt = truth.subarray(0, promptLength);
  a.reset(prompt);
  b.reset(prompt);
  const first = v.prefill(promptLength);
  a.observe(first);
  b.observe(first);
  let pos = promptLength + 1;
  let steps = 0;
  while (pos < truth.length) {
    const budget = [80, 80, 80, 1, 0, 17, 300][Math.floor(rng.next() * 7)]!;
    const ta = a.propose(budget);
    const tb = b.propose(budget);
    if (JSON.stringify(treeData(ta)) !== JSON.stringify(treeData(tb))) {
      throw new Error(`${name} differs at position ${pos} (budget ${budget}):\nts   ${JSON.stringify(treeData(ta))}\nwasm ${JSON.stringify(treeData(tb))}`);
    }
    const u = v.verify(ta, pos);
    a.observe(u);
    b.observe(u);
    pos += u.accepted.length;
    steps++;
  }
  a.dispose();
  b.dispose();
  return steps;
}

describe("WASM and TypeScript drafters propose identical trees", () => {
  test.each(DRAFTER_NAMES.filter((n) => n !== "none"))("%s", async (name) => {
    const rng = new Rng(1234);
    const real = await realStreams(3000);
    const streams: [Int32Array, number][] = [
      [randomStream(rng, 2000, 4), 4],
      [randomStream(rng, 2000, 32_000), 32_000],
      [repetitiveStream(rng, 3000, 300), 300],
      [repetitiveStream(rng, 3000, 70_000), 70_000], // wide table storage
      ...real.map((r) => [r.tokens, 4096] as [Int32Array, number]),
    ];
    let steps = 0;
    for (const [truth, vocabSize] of streams) {
      steps += lockstep(name, { vocabSize }, truth, vocabSize, rng);
      // small caps so the automaton / index rebuild paths run too
      steps += lockstep(name, { vocabSize, sam: { maxTokens: 300, branches: 4 }, ngram: { maxTokens: 300, minN: 2, maxN: 5, branches: 3 }, recycle: { k: 3 } }, truth, vocabSize, rng);
    }
    expect(steps).toBeGreaterThan(1000);
  });

  test("with a corpus, one index shared by both sides", async () => {
    const real = await realStreams(3000);
    const docs = [real[0]!.tokens, real[2]!.tokens];
    const opts = { vocabSize: 4096, tokenizerFingerprint: "f" };
    const corpus = CorpusIndex.build(docs, opts);
    const a = createDrafter("hybrid", { ...opts, kernels: ts, sam: { corpus } });
    const b = createDrafter("hybrid", { ...opts, kernels: wasm, sam: { corpus } });
    const truth = Int32Array.from([...real[1]!.tokens, ...real[0]!.tokens.subarray(100, 900)]);
    const v = new FakeVerifier(truth, 4096);
    for (const d of [a, b]) {
      d.reset(truth.subarray(0, 10));
      d.observe(v.prefill(10));
    }
    for (let pos = 11; pos < truth.length; ) {
      const ta = a.propose(80);
      expect(treeData(b.propose(80))).toEqual(treeData(ta));
      const u = v.verify(ta, pos);
      a.observe(u);
      b.observe(u);
      pos += u.accepted.length;
    }
  });
});

describe("WASM and TypeScript kernels hold identical state", () => {
  test("suffix automaton arrays, cursor and hash-driven edge order", () => {
    const rng = new Rng(8);
    for (const [n, alphabet, cap] of [[3000, 3, 1 << 20], [3000, 1000, 1 << 20], [5000, 20, 700]] as const) {
      const text = randomStream(rng, n, alphabet);
      const a = ts.automaton(cap);
      const b = wasm.automaton(cap);
      for (let i = 0; i < n; i += 113) {
        a.append(text.subarray(i, i + 113));
        b.append(text.subarray(i, i + 113));
        expect([b.cursorState, b.cursorLength, b.matchEnd, b.length]).toEqual([a.cursorState, a.cursorLength, a.matchEnd, a.length]);
      }
      expect(b.exportArrays()).toEqual(a.exportArrays());
      const c = ts.automaton(cap);
      const d = wasm.automaton(cap);
      c.extend(text);
      d.extend(text);
      c.advance(text.subarray(100, 400));
      d.advance(text.subarray(100, 400));
      expect(d.exportArrays()).toEqual(c.exportArrays());
      expect([d.cursorState, d.cursorLength]).toEqual([c.cursorState, c.cursorLength]);
    }
  });

  test("recycling table rows after random updates", () => {
    const rng = new Rng(4);
    for (const vocabSize of [50, 65_534, 65_535, 80_000]) {
      for (const k of [8, 5]) {
        const a = ts.recyclingTable(vocabSize, k);
        const b = wasm.recyclingTable(vocabSize, k);
        for (let step = 0; step < 50; step++) {
          const rows = 1 + Math.floor(rng.next() * 90);
          const kIn = [8, 8, 3, 10, 0][step % 5]!;
          const tokens = randomStream(rng, rows, Math.min(vocabSize, 60));
          const topK = Int32Array.from({ length: rows * kIn }, () => (rng.next() < 0.1 ? -1 : Math.floor(rng.next() * vocabSize)));
          a.update(tokens, topK, kIn);
          b.update(tokens, topK, kIn);
        }
        expect(b.exportRows()).toEqual(a.exportRows());
      }
    }
  });
});
