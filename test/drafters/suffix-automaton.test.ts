import { beforeAll, describe, expect, test } from "bun:test";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { tsKernels } from "../../src/drafters/kernels/index.ts";
import { TokenizerMismatchError } from "../../src/drafters/persist.ts";
import { SuffixAutomatonDrafter } from "../../src/drafters/suffix-automaton.ts";
import { EdgespecError } from "../../src/errors.ts";
import { bruteCorpusMatches, bruteSequenceMatches, checkTree, kernelSets, randomStream, realStreams, Rng, TOKENIZER_VOCAB, treeData } from "./helpers.ts";

let sets: KernelSet[] = [];
let real: { name: string; tokens: Int32Array }[] = [];
beforeAll(async () => {
  sets = await kernelSets();
  real = await realStreams(2500);
});

/** Appends one token at a time and compares cursor + first end with the brute force at every position. */
function expectSequenceMatches(kernels: KernelSet, text: Int32Array, label: string, checkInvariant = false): void {
  const sam = kernels.automaton(1 << 20);
  const brute = bruteSequenceMatches(text);
  for (let i = 0; i < text.length; i++) {
    sam.append(text.subarray(i, i + 1));
    const got = [sam.cursorLength, sam.matchEnd];
    const want = [brute.len[i]!, brute.end[i]!];
    if (got[0] !== want[0] || got[1] !== want[1]) throw new Error(`${label} (${kernels.name}) at ${i}: got ${got}, brute force ${want}`);
    if (checkInvariant && sam.cursorState > 0) {
      // The cursor's state must hold a string of the cursor's length: len(link(s)) < length <= len(s).
      const { len, link } = sam.exportArrays();
      const s = sam.cursorState;
      if (!(len[link[s]!]! < sam.cursorLength && sam.cursorLength <= len[s]!)) throw new Error(`${label} (${kernels.name}) at ${i}: cursor state ${s} does not hold length ${sam.cursorLength}`);
    }
  }
  expect(sam.stateCount).toBeLessThanOrEqual(2 * text.length);
  expect(sam.edgeCount).toBeLessThanOrEqual(3 * text.length);
  sam.dispose();
}

describe("suffix automaton kernel (dynamic) agrees with brute force", () => {
  test("random streams over small and large alphabets", () => {
    const rng = new Rng(11);
    for (const kernels of sets) {
      for (const alphabet of [1, 2, 3, 7, 64, 50_000]) expectSequenceMatches(kernels, randomStream(rng, 700, alphabet), `alphabet ${alphabet}`, true);
    }
  });

  test("real token streams (reference corpus, held-out text, repo code)", () => {
    for (const kernels of sets) for (const s of real) expectSequenceMatches(kernels, s.tokens, s.name);
  });

  test("appending in chunks gives the same cursor as one token at a time", () => {
    const text = real[0]!.tokens;
    for (const kernels of sets) {
      const whole = kernels.automaton(1 << 20);
      whole.append(text);
      const chunked = kernels.automaton(1 << 20);
      for (let i = 0; i < text.length; i += 37) chunked.append(text.subarray(i, i + 37));
      expect([chunked.cursorState, chunked.cursorLength, chunked.matchEnd]).toEqual([whole.cursorState, whole.cursorLength, whole.matchEnd]);
      expect(chunked.exportArrays()).toEqual(whole.exportArrays());
    }
  });
});

describe("suffix automaton kernel (static) agrees with brute force", () => {
  test("queries against a corpus with document separators", () => {
    const rng = new Rng(5);
    for (const kernels of sets) {
      const docs = [real[0]!.tokens.subarray(0, 1500), real[2]!.tokens.subarray(0, 800), randomStream(rng, 300, 5)];
      const corpus = Int32Array.from([...docs[0]!, -1, ...docs[1]!, -1, ...docs[2]!]);
      const sam = kernels.automaton(1 << 20);
      sam.extend(corpus);
      const query = Int32Array.from([...real[1]!.tokens.subarray(0, 300), ...docs[0]!.subarray(200, 260), ...randomStream(rng, 100, 5)]);
      const brute = bruteCorpusMatches(corpus, query);
      for (let i = 0; i < query.length; i++) {
        sam.advance(query.subarray(i, i + 1));
        expect([i, sam.cursorLength, sam.matchEnd]).toEqual([i, brute.len[i]!, brute.end[i]!]);
      }
    }
  });
});

describe("suffix automaton drafts", () => {
  test("the continuation of the first occurrence, then shorter matches as branches", () => {
    for (const kernels of sets) {
      const sam = kernels.automaton(1 << 20);
      // "9 1 2" occurs at 0..2 (followed by 7) and "1 2" first at 0..1 ... then "5 1 2" at 4..6 (followed by 8)
      sam.append([9, 1, 2, 7, 5, 1, 2, 8, 3, 5, 1, 2]);
      expect([sam.cursorLength, sam.matchEnd]).toEqual([3, 6]); // "5 1 2" first ends at 6
      const tree = kernels.tree();
      tree.clear(20);
      sam.draftInto(tree, 4, 3, 1, 1);
      const t = tree.finish();
      // branch 0 (len 4): 8 3 5 1; branch 1 ("1 2", first end 2, len 2): 7 5
      expect(treeData(t)).toEqual({ tokens: [8, 7, 3, 5, 5, 1], parents: [-1, -1, 0, 1, 2, 4], depths: [1, 1, 2, 2, 3, 4], sources: [1, 1, 1, 1, 1, 1] });
    }
  });

  test("the drafter classes its nodes by the match they continue: the longer, the surer", () => {
    for (const kernels of sets) {
      const d = new SuffixAutomatonDrafter({ vocabSize: 100, kernels, sam: { maxChain: 4, branches: 1, historyTokens: 0 } });
      d.reset([9, 1, 2, 7, 5, 1, 2, 8, 3, 5, 1, 2]); // "5 1 2" (3 long) continues 8 3 5 1
      const t = d.propose(8);
      expect(Array.from(t.tokens)).toEqual([8, 3, 5, 1]);
      expect(Array.from(t.classes!)).toEqual([6, 6, 7, 7]); // lengths 3, 4, 5, 6
      // By source: the recycling table and the n-gram index are not this drafter's matches; no history or corpus here.
      expect(Array.from(d.matchLengths())).toEqual([-1, 3, 0, -1, 0]);
    }
  });

  test("minMatch and empty cases give no draft, never an error", () => {
    for (const kernels of sets) {
      const sam = kernels.automaton(64);
      const tree = kernels.tree();
      tree.clear(10);
      sam.draftInto(tree, 5, 2, 1, 1); // empty text
      sam.append([1, 2, 3, 1, 2]);
      sam.draftInto(tree, 5, 2, 3, 1); // match 2 < minMatch 3
      sam.draftInto(tree, 0, 2, 1, 1); // no length
      expect(tree.size).toBe(0);
    }
  });

  test("memory cap: rebuilt from the most recent half, still correct afterwards", () => {
    const rng = new Rng(3);
    const text = randomStream(rng, 900, 4);
    for (const kernels of sets) {
      const sam = kernels.automaton(256);
      let start = 0; // where the automaton's window begins in `text`
      for (let i = 0; i < text.length; i++) {
        if (i - start >= 256) start = i - 128;
        sam.append(text.subarray(i, i + 1));
        expect(sam.length).toBe(i + 1 - start);
        const brute = bruteSequenceMatches(text.subarray(start, i + 1));
        expect([sam.cursorLength, sam.matchEnd]).toEqual([brute.len[i - start]!, brute.end[i - start]!]);
        if (i > 600) break; // two rebuilds are enough; the brute force is quadratic
      }
      expect(sam.stateCount).toBeLessThanOrEqual(2 * 256);
    }
  });
});
