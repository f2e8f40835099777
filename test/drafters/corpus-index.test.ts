import { beforeAll, describe, expect, test } from "bun:test";
import { MAX_MATCH } from "../../src/drafters/corpus-cursor.ts";
import { CorpusIndex } from "../../src/drafters/corpus-index.ts";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { TokenizerMismatchError } from "../../src/drafters/persist.ts";
import { buildSuffixArray, END, SuffixArray, type TokenText } from "../../src/drafters/suffix-array.ts";
import { SuffixAutomatonDrafter } from "../../src/drafters/suffix-automaton.ts";
import type { DraftTree } from "../../src/drafters/types.ts";
import { EdgespecError } from "../../src/errors.ts";
import { bruteCorpusMatches, checkTree, kernelSets, randomStream, realStreams, repetitiveStream, Rng, TOKENIZER_VOCAB } from "./helpers.ts";

let sets: KernelSet[] = [];
let real: { name: string; tokens: Int32Array }[] = [];
beforeAll(async () => {
  sets = await kernelSets();
  real = await realStreams(2500);
});

const fingerprint = "tok64-test";
const opts = { vocabSize: TOKENIZER_VOCAB, tokenizerFingerprint: fingerprint };

const below = (rng: Rng, n: number) => Math.floor(rng.next() * n);

/** Compares two suffixes by their first `depth` tokens, END past the text. */
function compareSuffixes(text: TokenText, a: number, b: number, depth: number): number {
  for (let k = 0; k < depth; k++) {
    const x = a + k < text.length ? text[a + k]! : END;
    const y = b + k < text.length ? text[b + k]! : END;
    if (x !== y) return x - y;
    if (x === END) return 0;
  }
  return 0;
}

/** The tree's root-to-node paths as token arrays. */
function paths(t: DraftTree): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < t.size; i++) out.push([...(t.parents[i]! < 0 ? [] : out[t.parents[i]!]!), t.tokens[i]!]);
  return out;
}

function occurs(text: ArrayLike<number>, pattern: number[]): number {
  let n = 0;
  for (let p = 0; p + pattern.length <= text.length; p++) if (pattern.every((t, k) => text[p + k] === t)) n++;
  return n;
}

/** `n` tokens from `token`, one in `every` a separator: -1 in a 32-bit text (sorts first), 0xffff in a 16-bit one (sorts last). */
function textWithSeparators(rng: Rng, n: number, wide: boolean, every: number, token: () => number): TokenText {
  const text: TokenText = wide ? new Int32Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) text[i] = below(rng, every) === 0 ? (wide ? -1 : 0xffff) : token();
  return text;
}

describe("suffix array", () => {
  test("equals the brute-force sort on random texts with separators, 16- and 32-bit", () => {
    const rng = new Rng(7);
    for (let round = 0; round < 40; round++) {
      const n = 1 + below(rng, 300);
      const alphabet = 1 + below(rng, 6);
      const text = textWithSeparators(rng, n, round % 2 === 1, 10, () => below(rng, alphabet));
      const sa = buildSuffixArray(text, 1 << 20);
      const brute = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareSuffixes(text, a, b, n + 1));
      expect(Array.from(sa)).toEqual(brute);
    }
  });

  test("a search from the whole array finds the ranks of every token through the first-rank table as by binary search", () => {
    const rng = new Rng(9);
    const range = new Int32Array(2);
    for (let round = 0; round < 40; round++) {
      const n = 1 + below(rng, 400);
      const vocab = 1 + below(rng, 12);
      // Even tokens only: some never occur (gaps in the table).
      const text = textWithSeparators(rng, n, round % 2 === 1, 8, () => below(rng, vocab) & ~1);
      const sa = buildSuffixArray(text, 4);
      const tabled = new SuffixArray(text, sa, 4, vocab);
      const binary = new SuffixArray(text, sa, 4);
      for (let token = 0; token < vocab; token++) {
        tabled.narrow(0, n, 0, token, range);
        const got = Array.from(range);
        binary.narrow(0, n, 0, token, range);
        expect(got).toEqual(Array.from(range));
        expect(got[1]! - got[0]!).toBe(Array.prototype.filter.call(text, (t: number) => t === token).length);
      }
    }
  });

  test("sorted to its depth on text with repeats longer than the depth", () => {
    const rng = new Rng(8);
    const text = Uint16Array.from(repetitiveStream(rng, 3000, 5));
    for (const depth of [1, 3, 16]) {
      const sa = buildSuffixArray(text, depth);
      expect(new Set(sa).size).toBe(text.length);
      for (let j = 1; j < sa.length; j++) expect(compareSuffixes(text, sa[j - 1]!, sa[j]!, depth)).toBeLessThanOrEqual(0);
    }
  });
});

describe("corpus index", () => {
  const docs = () => [real[0]!.tokens.subarray(0, 2000), real[2]!.tokens.subarray(0, 1000)];

  test("the cursor holds the longest suffix found in the corpus (capped at MAX_MATCH), on real and repetitive text", () => {
    const rng = new Rng(3);
    const cases: { corpus: ArrayLike<number>[]; query: ArrayLike<number>; vocab: number }[] = [
      { corpus: docs(), query: real[1]!.tokens.subarray(0, 600), vocab: TOKENIZER_VOCAB },
      { corpus: docs(), query: real[0]!.tokens.subarray(1500, 2100), vocab: TOKENIZER_VOCAB }, // copies the corpus past the cap
      { corpus: [repetitiveStream(rng, 1500, 6), randomStream(rng, 200, 6)], query: repetitiveStream(rng, 400, 6), vocab: 6 },
      { corpus: [randomStream(rng, 800, 5, 99_990), randomStream(rng, 300, 5, 99_990)], query: randomStream(rng, 300, 5, 99_990), vocab: 100_000 },
    ];
    for (const { corpus, query, vocab } of cases) {
      const index = CorpusIndex.build(corpus, { vocabSize: vocab });
      const joined: number[] = [];
      for (const d of corpus) joined.push(...(joined.length ? [-1] : []), ...Array.from(d));
      const brute = bruteCorpusMatches(joined, query);
      const cursor = index.cursor();
      const got: number[] = [];
      for (let i = 0; i < query.length; i++) {
        cursor.advance([query[i]!]);
        got.push(cursor.matchLength);
      }
      expect(got).toEqual(Array.from(brute.len, (l) => Math.min(l, MAX_MATCH)));
      expect(Math.max(...got)).toBeGreaterThan(3);
      // Fed in chunks, after a reset, it agrees.
      cursor.reset();
      for (let i = 0; i < query.length; i += 37) cursor.advance(Array.from(query).slice(i, i + 37));
      expect(cursor.matchLength).toBe(got.at(-1)!);
    }
  });

  test("drafts the most frequent continuation first, other first tokens as branches, and stops at separators", () => {
    for (const kernels of sets) {
      const index = CorpusIndex.build([[1, 2, 3, 4], [1, 2, 3, 5, 6], [1, 2, 3, 5, 7], [1, 2, 9]], { vocabSize: 10 });
      const cursor = index.cursor();
      cursor.advance([8, 1, 2]);
      expect([cursor.matchLength, cursor.occurrences]).toEqual([2, 4]);
      const tree = kernels.tree();
      tree.clear(80);
      cursor.draftInto(tree, 8, 3, 1, 2);
      const t = tree.finish();
      checkTree(t, 80, 10);
      // 3 (three occurrences) then 5 (two of them) then 6 (the first in rank order of a 1-1 tie); 9 as a second branch.
      expect(paths(t).map((p) => p.join(" "))).toEqual(["3", "9", "3 5", "3 5 6"]);
      expect(Array.from(t.sources!)).toEqual([2, 2, 2, 2]);
      tree.clear(80);
      cursor.draftInto(tree, 8, 3, 3, 2); // shorter than minMatch: nothing
      expect(tree.size).toBe(0);
      tree.dispose();
    }
  });

  test("every drafted path continues an occurrence of the match, and the chain starts with the most frequent next token", () => {
    const corpus = docs();
    const index = CorpusIndex.build(corpus, opts);
    const joined = [...corpus[0]!, -1, ...corpus[1]!];
    const tree = sets[0]!.tree();
    const query = real[1]!.tokens.subarray(0, 400);
    const cursor = index.cursor();
    let checked = 0;
    for (let i = 0; i < query.length; i++) {
      cursor.advance([query[i]!]);
      const m = cursor.matchLength;
      if (m === 0) continue;
      const match = Array.from(query.subarray(i + 1 - m, i + 1));
      tree.clear(80);
      cursor.draftInto(tree, 12, 3, 1, 2);
      const t = tree.finish();
      for (const p of paths(t)) expect(occurs(joined, [...match, ...p])).toBeGreaterThan(0);
      if (t.size > 0) {
        const counts = new Map<number, number>();
        for (let p = 0; p + m < joined.length; p++) if (match.every((x, k) => joined[p + k] === x) && joined[p + m]! >= 0) counts.set(joined[p + m]!, (counts.get(joined[p + m]!) ?? 0) + 1);
        expect(counts.get(t.tokens[0]!)).toBe(Math.max(...counts.values()));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    tree.dispose();
  });

  test("6 bytes per token up to 65535 tokens of vocabulary, 8 above", () => {
    const small = CorpusIndex.build([randomStream(new Rng(1), 5000, 4000)], { vocabSize: 4096 });
    expect(small.memoryBytes()).toBe(6 * 5000);
    const large = CorpusIndex.build([randomStream(new Rng(1), 5000, 4000, 90_000)], { vocabSize: 100_000 });
    expect(large.memoryBytes()).toBe(8 * 5000);
  });

  test("save/load round trip keeps the text, the order and every answer", () => {
    const built = CorpusIndex.build(docs(), { ...opts, source: "files:abc" });
    expect([built.tokenCount, built.truncated, built.source]).toEqual([3001, false, "files:abc"]);
    const bytes = built.save();
    const loaded = CorpusIndex.load(bytes, opts);
    expect(loaded.save()).toEqual(bytes);
    expect(loaded.source).toBe("files:abc");
    const a = built.cursor();
    const b = loaded.cursor();
    const query = real[1]!.tokens.subarray(0, 400);
    const ta = sets[0]!.tree();
    const tb = sets[0]!.tree();
    for (let i = 0; i < query.length; i += 25) {
      a.advance(query.subarray(i, i + 25));
      b.advance(query.subarray(i, i + 25));
      expect(b.matchLength).toBe(a.matchLength);
      ta.clear(80);
      tb.clear(80);
      a.draftInto(ta, 40, 3, 1, 2);
      b.draftInto(tb, 40, 3, 1, 2);
      expect(Array.from(tb.finish().tokens)).toEqual(Array.from(ta.finish().tokens));
    }
  });

  test("refuses another tokenizer, another vocabulary, and damaged bytes", () => {
    const bytes = CorpusIndex.build(docs(), opts).save();
    expect(() => CorpusIndex.load(bytes, { ...opts, tokenizerFingerprint: "tok64-other" })).toThrow(TokenizerMismatchError);
    expect(() => CorpusIndex.load(bytes, { vocabSize: 32000, tokenizerFingerprint: fingerprint })).toThrow(/saved for tokenizer "tok64-test" with 4096 tokens/);
    expect(() => CorpusIndex.load(bytes.subarray(0, bytes.length - 9), opts)).toThrow(/truncated/);
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    // Layout: header, 2 fields, text (u16 × 3001, padded), suffixes (i32 × 3001), source (empty).
    const textAt = bytes.length - 8 - 4 * 3001 - 8 - (2 * 3001 + 2);
    const saAt = bytes.length - 8 - 4 * 3001;
    const twice = bytes.slice();
    view(twice).setInt32(saAt, view(twice).getInt32(saAt + 4, true), true);
    expect(() => CorpusIndex.load(twice, opts)).toThrow(/corpus index is not valid saved state: suffix 1 starts at/);
    const outside = bytes.slice();
    view(outside).setInt32(saAt + 8, 5000, true);
    expect(() => CorpusIndex.load(outside, opts)).toThrow(/suffix 2 starts at 5000/);
    const token = bytes.slice();
    view(token).setUint16(textAt, 4096, true);
    expect(() => CorpusIndex.load(token, opts)).toThrow(/text\[0\] = 4096 is not a token id/);
    expect(() => CorpusIndex.load(new TextEncoder().encode("ESSAxxxxxxxxxxxxxxxx"), opts)).toThrow(/expected a "ESCI" file, found "ESSA"/);
  });

  test("maxTokens truncates the corpus and says so; invalid ids are refused", () => {
    const c = CorpusIndex.build([[1, 2, 3], [4, 5, 6], [7, 8]], { vocabSize: 10, maxTokens: 6 });
    expect([c.truncated, c.tokenCount]).toEqual([true, 6]); // 1 2 3 | 4 5
    expect(CorpusIndex.build([[1, 2, 3], [4, 5]], { vocabSize: 10, maxTokens: 6 }).truncated).toBe(false);
    expect(() => CorpusIndex.build([[1, 2, 10]], { vocabSize: 10 })).toThrow(EdgespecError);
    expect(() => CorpusIndex.build([[1, -1]], { vocabSize: 10 })).toThrow(/documents\[0\]\[1\] = -1/);
    expect(CorpusIndex.build([], { vocabSize: 10 }).cursor().matchLength).toBe(0);
  });

  test("the drafter prefers a long corpus match and drafts what followed it in the corpus", () => {
    for (const kernels of sets) {
      const corpus = CorpusIndex.build([[10, 11, 12, 13, 14, 15, 16, 17, 18, 19]], { vocabSize: 100, tokenizerFingerprint: fingerprint });
      const d = new SuffixAutomatonDrafter({ vocabSize: 100, kernels, tokenizerFingerprint: fingerprint, sam: { corpus, corpusBias: 2, maxChain: 4, branches: 1 } });
      d.reset([50, 51, 12, 13, 14, 15]);
      expect(d.corpusMatch).toBe(4);
      const t = d.propose(80);
      checkTree(t, 80, 100);
      expect(Array.from(t.tokens)).toEqual([16, 17, 18, 19]);
      expect(Array.from(t.sources!)).toEqual([2, 2, 2, 2]);
      // the sequence itself then repeats: "12 13 14 15" again -> both sources, sequence first (4 > 4 - 2)
      d.observe({ accepted: [16, 50, 51, 12, 13, 14, 15], verifiedTokens: [], topK: new Int32Array(0), k: 0 });
      expect([d.sequenceMatch, d.corpusMatch]).toEqual([6, 4]);
      const both = d.propose(80);
      expect(Array.from(both.tokens.subarray(0, 1))).toEqual([16]);
      expect(both.size).toBe(7); // 16 50 51 12 from the sequence; 17 18 19 from the corpus under 16
      expect(() => new SuffixAutomatonDrafter({ vocabSize: 100, kernels, sam: { corpus } })).toThrow(TokenizerMismatchError);
    }
  });
});
