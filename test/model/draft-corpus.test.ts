/**
 * A model's draft corpus (config.json `edgespec.draft_corpus`, built by tools/draft-corpus.ts from
 * the model's own continuations): read when the model's first suffix drafter is built, the static
 * corpus of every suffix drafter (sam, hybrid) that is given none, replaced by one that is given,
 * never handed to a drafter that takes no corpus; a note naming the file (drafters go without) when config names one that is not
 * there, is damaged, or was built for a tokenizer.json edited since.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CorpusIndex, type DraftTree } from "../../src/drafters/index.ts";
import { SOURCE } from "../../src/drafters/sources.ts";
import { buildDrafter, fingerprintOf } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { loadEditedReference, referenceModel } from "../helpers/model.ts";

/** Whether `tree` holds `chain` as a path from its root level, every node of it from `source`. */
function holdsChain(tree: DraftTree, chain: readonly number[], source: number): boolean {
  let parent = -1;
  for (const token of chain) {
    let next = -1;
    for (let i = 0; i < tree.size; i++) if (tree.parents[i] === parent && tree.tokens[i] === token && tree.sources?.[i] === source) next = i;
    if (next < 0) return false;
    parent = next;
  }
  return true;
}

const m = await referenceModel();
const shipped = await m.draftAssets!.draftCorpus();
// The corpus's first document: the context a continuation was written after, and the continuation.
const text = shipped ? Array.from(shipped.suffixes.text) : [];
const first = text.slice(0, text.findIndex((t) => t === shipped!.separator));
const context = first.slice(0, 24);
const continuation = first.slice(24, 28);

describe("a model's draft corpus", () => {
  test("the reference model ships one: sam and hybrid draft the model's own continuation from it", () => {
    expect(shipped).toBeDefined();
    expect(shipped!.tokenCount).toBeGreaterThan(100_000);
    expect(continuation.length).toBe(4);
    for (const name of ["sam", "hybrid"]) {
      const d = buildDrafter(m, { name })!;
      d.reset(context);
      expect(holdsChain(d.propose(64), continuation, SOURCE.samStatic)).toBe(true);
      d.dispose();
    }
  });

  test("a corpus given takes its place; drafters that take none are not handed it", () => {
    const mine = CorpusIndex.build([[5, 6, 7, 8, 9, 10]], { vocabSize: m.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(m) });
    const d = buildDrafter(m, { name: "sam", corpus: mine })!;
    d.reset(context);
    expect(holdsChain(d.propose(64), continuation, SOURCE.samStatic)).toBe(false);
    d.reset([1, 5, 6, 7]);
    expect(holdsChain(d.propose(64), [8, 9], SOURCE.samStatic)).toBe(true);
    expect(() => buildDrafter(m, { name: "ngram" })).not.toThrow();
  });

  test("output is plain decoding's with the corpus drafting (a prompt whose continuation it holds)", async () => {
    const plain = await generate(m, context, { maxTokens: 24, stopAtEos: false });
    const drafted = await generate(m, context, { maxTokens: 24, stopAtEos: false, drafter: buildDrafter(m, { name: "hybrid" }) });
    expect(drafted.tokens).toEqual(plain.tokens);
    expect(drafted.stats.perDrafter["sam-static"]?.accepted ?? 0).toBeGreaterThan(0);
  });

  test("missing, damaged or built for another tokenizer: the model loads, drafters go without, a note names the file", async () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      ["missing", (dir) => rmSync(join(dir, "draft-corpus.escorpus")), /names draft corpus draft-corpus\.escorpus, which is not in .*: drafters match the request's text alone/],
      ["damaged", (dir) => writeFileSync(join(dir, "draft-corpus.escorpus"), new Uint8Array(64)), /draft-corpus\.escorpus \(the model's shipped draft corpus, config\.json edgespec\.draft_corpus\): .*not valid saved state.*: drafters match the request's text alone/],
      [
        "another tokenizer",
        (dir) => {
          const path = join(dir, "tokenizer.json");
          const json = JSON.parse(readFileSync(path, "utf8"));
          json.pre_tokenizer = { ...json.pre_tokenizer, add_prefix_space: true };
          writeFileSync(path, JSON.stringify(json));
        },
        /draft-corpus\.escorpus \(the model's shipped draft corpus.*\) was built for tokenizer .* \(edited since the corpus was built\?\): drafters match the request's text alone/,
      ],
    ];
    for (const [, edit, note] of cases) {
      const notes: string[] = [];
      const { model: replica } = await loadEditedReference(edit, notes);
      expect(await replica.draftAssets!.draftCorpus()).toBeUndefined();
      expect(notes.filter((n) => note.test(n)), notes.join(" / ")).toEqual([expect.any(String)]);
      const d = buildDrafter(replica, { name: "sam" })!;
      d.reset(context);
      expect(holdsChain(d.propose(64), continuation, SOURCE.samStatic)).toBe(false);
      await replica.lm.dispose();
    }
  }, 60_000);
});
