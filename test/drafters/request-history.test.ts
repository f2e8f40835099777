/**
 * Drafts across requests (RequestHistory): what one request produced is drafted in the next,
 * within a token cap that evicts the oldest outputs; per kernel set, and through a whole LM where
 * the output stays plain decoding's.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { open } from "../../adapters/bun/index.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { HybridDrafter } from "../../src/drafters/hybrid.ts";
import type { KernelSet } from "../../src/drafters/kernels/types.ts";
import { RequestHistory } from "../../src/drafters/request-history.ts";
import { SOURCE } from "../../src/drafters/sources.ts";
import { SuffixAutomatonDrafter } from "../../src/drafters/suffix-automaton.ts";
import type { DraftTree } from "../../src/drafters/types.ts";
import { MODEL_DIR } from "../helpers/model.ts";
import { kernelSets } from "./helpers.ts";

let sets: KernelSet[] = [];
beforeAll(async () => {
  sets = await kernelSets();
});

const V = 100;
const seq = (...xs: number[]) => xs;
/** The chain drafted from `source`, from the root down its first children. */
function chainFrom(tree: DraftTree, source: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < tree.size; i++) if (tree.sources![i] === source && (tree.parents[i] === -1 || tree.sources![tree.parents[i]!] === source)) out.push(tree.tokens[i]!);
  return out;
}

/** One request: the prompt, then `output` accepted one token at a time. */
function request(d: SuffixAutomatonDrafter | HybridDrafter, prompt: number[], output: number[]): void {
  d.reset(prompt);
  for (const t of output) d.observe({ accepted: [t], verifiedTokens: [t], topK: new Int32Array(0), k: 0 });
}

describe("drafts across requests", () => {
  test("an earlier request's output is drafted where the next request's text meets it (sam and hybrid, both kernel sets)", () => {
    for (const kernels of sets) {
      const sam = new SuffixAutomatonDrafter({ vocabSize: V, kernels });
      request(sam, seq(1, 2, 3), seq(10, 11, 12, 13, 14, 15, 16, 17));
      sam.reset(seq(4, 5, 10, 11, 12)); // the new prompt ends where the last output went on with 13…
      expect(sam.historyMatch).toBe(3);
      expect(chainFrom(sam.propose(16), SOURCE.samHistory).slice(0, 5)).toEqual([13, 14, 15, 16, 17]);
      const hybrid = new HybridDrafter({ vocabSize: V, kernels });
      request(hybrid, seq(1, 2, 3), seq(10, 11, 12, 13, 14, 15, 16, 17));
      hybrid.reset(seq(4, 5, 10, 11, 12, 13, 14));
      expect(chainFrom(hybrid.propose(32), SOURCE.samHistory).slice(0, 3)).toEqual([15, 16, 17]);
      for (const d of [sam, hybrid]) d.dispose();
    }
  });

  test("the running request's own text is not history; historyTokens 0 turns it off", () => {
    for (const kernels of sets) {
      const sam = new SuffixAutomatonDrafter({ vocabSize: V, kernels });
      sam.reset(seq(10, 11, 12, 13));
      expect(sam.historyMatch).toBe(0);
      const off = new SuffixAutomatonDrafter({ vocabSize: V, kernels, sam: { historyTokens: 0 } });
      request(off, seq(1, 2, 3), seq(10, 11, 12, 13, 14));
      off.reset(seq(10, 11, 12));
      expect(off.historyMatch).toBe(0);
      expect(chainFrom(off.propose(16), SOURCE.samHistory)).toEqual([]);
      for (const d of [sam, off]) d.dispose();
    }
  });

  test("a request's match starts at its own prompt, not where the last request's text ended", () => {
    for (const kernels of sets) {
      const h = new RequestHistory(kernels, 1024);
      h.begin([1, 2]);
      h.learn([50, 51, 52]);
      h.begin([3]);
      h.learn([50, 51]); // this request ends where the first one's output went on with 52
      h.begin([52]); // "50 51" + 52 is in the history, but this request's text is only 52
      expect(h.matchLength).toBe(1);
      h.dispose();
    }
  });

  test("bounded: past the cap the oldest outputs go and the recent ones stay draftable", () => {
    for (const kernels of sets) {
      const h = new RequestHistory(kernels, 64);
      const output = (k: number) => Array.from({ length: 20 }, (_, i) => 20 * k + i);
      for (let k = 0; k < 12; k++) {
        h.begin([99]);
        h.learn(output(k));
        expect(h.tokenCount).toBeLessThanOrEqual(64);
      }
      h.begin(output(10).slice(0, 4)); // output 10 went in at the last begin... its start matches
      expect(h.matchLength).toBe(4);
      h.begin(output(0).slice(0, 4)); // output 0 was evicted long ago
      expect(h.matchLength).toBe(0);
      // An output longer than the cap keeps its start, within the cap.
      h.begin([99]);
      h.learn(Array.from({ length: 200 }, (_, i) => i % 97));
      h.begin([0, 1, 2, 3]);
      expect(h.tokenCount).toBeLessThanOrEqual(64);
      expect(h.matchLength).toBe(4);
      h.begin([70, 71, 72]); // past the first 63 tokens: not kept
      expect(h.matchLength).toBe(0);
      h.dispose();
    }
  });

  test("through an LM: the second of two similar requests drafts from the first's output and stays plain decoding's", async () => {
    const lm = await open({ model: MODEL_DIR, dtype: "fp32", device: "wasm", drafter: "sam" });
    try {
      const params = { maxTokens: 48, stopAtEos: false };
      const first = "def area_of_circle(radius):\n";
      const second = "def area_of_circle(r):\n";
      await lm.generate(first, params);
      const r = await lm.generate(second, params);
      expect(r.tokens).toEqual((await generatePlain(lm.model, second, params)).tokens);
      expect(r.stats.perDrafter["sam-history"]?.accepted ?? 0).toBeGreaterThan(0);
    } finally {
      await lm.close();
    }
  });
});
