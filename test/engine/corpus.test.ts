/**
 * A static corpus from files: the index built from text is saved beside it and reused while the
 * files and tokenizer are the same; anything else is rebuilt, and the drafter drafts from it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { CorpusIndex } from "../../src/drafters/index.ts";
import { loadCorpus } from "../../src/engine/corpus.ts";
import { buildDrafter, fingerprintOf } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import type { Host } from "../../src/host.ts";
import { REPO, referenceModel } from "../helpers/model.ts";

const dir = mkdtempSync(join(tmpdir(), "edgespec-corpus-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source = (f: string) => readFileSync(join(REPO, "tools", f), "utf8");

function folder(name: string, files: Record<string, string>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

async function load(path: string, host: Host = bunHost, saveIndex?: boolean) {
  const notes: string[] = [];
  const files: string[] = [];
  const index = await loadCorpus(host, await referenceModel(), path, { onNote: (m) => notes.push(m), onFile: (f) => files.push(f), ...(saveIndex === undefined ? {} : { saveIndex }) });
  return { index, notes, files };
}

describe("corpus from files", () => {
  test("built once and saved beside the folder, then reused while the files are the same", async () => {
    const docs = folder("docs", { "a.py": source("llama.py"), "b.md": source("export_model.py"), "c.bin": "not text" });
    const first = await load(docs);
    expect(first.files.map((f) => f.slice(docs.length))).toEqual(["/a.py", "/b.md"]);
    expect(first.notes).toEqual([expect.stringMatching(/^corpus: saved .*docs\.escorpus \(\d+ tokens\); it is reused while these files are unchanged$/)]);
    expect(statSync(`${docs}.escorpus`).size).toBeLessThan(8 * first.index.tokenCount + 1024);
    const again = await load(docs);
    expect(again.files).toEqual([]); // nothing tokenized
    expect(again.notes).toEqual([`corpus: reused ${docs}.escorpus (${first.index.tokenCount} tokens)`]);
    expect(again.index.save()).toEqual(first.index.save());
    // The saved file itself is a corpus too.
    expect((await load(`${docs}.escorpus`)).index.save()).toEqual(first.index.save());
  });

  test("an edited, renamed or damaged source is rebuilt", async () => {
    const docs = folder("edit", { "a.py": "def f():\n    return 1\n" });
    const before = (await load(docs)).index;
    writeFileSync(join(docs, "a.py"), "def f():\n    return 2\n");
    const edited = await load(docs);
    expect(edited.notes[0]).toBe(`corpus: ${docs}.escorpus was built from other files; rebuilding`);
    expect(edited.index.source).not.toBe(before.source);
    rmSync(join(docs, "a.py"));
    writeFileSync(join(docs, "b.py"), "def f():\n    return 2\n");
    expect((await load(docs)).notes[0]).toMatch(/was built from other files; rebuilding/);
    writeFileSync(`${docs}.escorpus`, "ESCI damaged");
    const damaged = await load(docs);
    expect(damaged.notes[0]).toMatch(/^corpus: .*edit\.escorpus not reused \(corpus index is not valid saved state: .*\); rebuilding$/);
    expect(damaged.notes[1]).toMatch(/^corpus: saved /);
    expect((await load(docs)).notes[0]).toMatch(/^corpus: reused /);
  });

  test("one file is indexed beside it; saveIndex false and hosts that cannot write build without saving", async () => {
    const file = join(folder("one", { "x.py": source("llama.py") }), "x.py");
    expect((await load(file)).notes[0]).toMatch(/saved .*x\.py\.escorpus/);
    const quiet = folder("quiet", { "y.py": source("llama.py") });
    expect((await load(quiet, bunHost, false)).notes).toEqual([]);
    const { writeFile: _, ...readOnly } = bunHost;
    expect((await load(quiet, readOnly)).notes).toEqual([]);
    const failing: Host = { ...bunHost, writeFile: () => Promise.reject(new Error("read-only file system")) };
    expect((await load(quiet, failing)).notes).toEqual([`corpus: could not save ${quiet}.escorpus (read-only file system); it will be built again next time`]);
    expect(() => statSync(`${quiet}.escorpus`)).toThrow();
    await expect(load(join(dir, "missing"))).rejects.toThrow(/corpus not found/);
    await expect(load(folder("empty", { "z.bin": "x" }))).rejects.toThrow(/has no text or code files/);
  });

  test("another model's tokenizer is refused for a saved index, and rebuilds one beside text", async () => {
    const model = await referenceModel();
    const saved = CorpusIndex.build([[1, 2, 3]], { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: "tok64-other" }).save();
    writeFileSync(join(dir, "other.escorpus"), saved);
    await expect(load(join(dir, "other.escorpus"))).rejects.toThrow(/saved for tokenizer "tok64-other"/);
    const docs = folder("other", { "a.py": "x = 1\n" });
    const rebuilt = await load(docs);
    expect(rebuilt.notes[0]).toMatch(/other\.escorpus not reused \(corpus index was saved for tokenizer "tok64-other"/);
    expect(rebuilt.index.identity.fingerprint).toBe(fingerprintOf(model));
  });

  test("drafts from the corpus are accepted and the output stays plain decoding's", async () => {
    const model = await referenceModel();
    const text = source("llama.py");
    const corpus = (await load(folder("gen", { "llama.py": text }))).index;
    // A prompt that starts a span of the corpus: the rest of it is what the corpus drafts.
    const prompt = text.slice(0, 600);
    const params = { maxTokens: 48, stopAtEos: false };
    const drafter = buildDrafter(model, { name: "sam", corpus })!;
    const spec = await generate(model, prompt, { ...params, drafter, budget: 16 });
    expect(spec.tokens).toEqual((await generatePlain(model, prompt, params)).tokens);
    expect(spec.stats.perDrafter["sam-static"]?.accepted).toBeGreaterThan(0);
  });
});
