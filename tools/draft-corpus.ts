/**
 * Builds a model's draft corpus: the model's own greedy continuations of generic text, saved as a
 * corpus index the suffix drafters (sam, hybrid) match against when a request brings no corpus of
 * its own. A human corpus drafts what people wrote, which a small model seldom writes again
 * (README, "static corpus": 1.4-1.6 tokens a step on held-out text); what the model itself wrote
 * after similar text is what it tends to write again, so its matches are accepted far more often.
 * Output is never changed: the corpus only proposes drafts, which the model verifies.
 *
 *   bun tools/draft-corpus.ts --model models/edgespec-small [--tokens 200000] [--out FILE]
 *
 * The text: windows of Python standard-library files (/usr/lib/python3.11) and of TypeScript's
 * lib .d.ts files (node_modules/typescript/lib), training split only — tools/make_bench_prompts.py
 * draws the bench prompts from the held-out files by the same hash rule, so the corpus never saw
 * a benchmark's text. Each document is the window's last CONTEXT tokens and the model's greedy
 * continuation (up to 128 tokens, or EOS). Deterministic: the same model gives the same corpus.
 *
 * Without --out it is written beside the model as draft-corpus.escorpus and named in config.json
 * (`edgespec.draft_corpus`), where loading finds it.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { CorpusIndex, createDrafter } from "../src/drafters/index.ts";
import { fingerprintOf } from "../src/engine/drafting.ts";
import { generate } from "../src/engine/speculative.ts";
import { loadModel } from "../src/model/load.ts";

const SOURCES = [
  { root: "/usr/lib/python3.11", name: "python-stdlib", ext: ".py" },
  { root: resolve(import.meta.dir, "../node_modules/typescript/lib"), name: "typescript-lib", ext: ".d.ts" },
];
const SKIP = new Set(["test", "tests", "idlelib", "lib2to3", "__pycache__", "site-packages", "dist-packages"]);
const CORPUS_FILE = "draft-corpus.escorpus";
/** Prompt tokens kept before each continuation, so a match can run from the prompt into it. */
const CONTEXT = 16;
const NEW_TOKENS = 128;

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  tokens: { type: "int", help: "", min: 1000 },
  out: { type: "string", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const budget = (flags.tokens as number) ?? 200_000;

/** As tools/make_bench_prompts.py: a file is held out when the first byte of this hash is below 13. */
const heldOut = (name: string, rel: string) => createHash("sha1").update(`${name}/${rel}`).digest()[0]! < 13;

function trainingFiles(source: (typeof SOURCES)[number], dir = source.root, out: string[] = []): string[] {
  if (!existsSync(dir)) throw new Error(`${source.name}: ${dir} is not here (Debian's python3.11 and npm's typescript provide the text)`);
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) {
      if (!SKIP.has(name)) trainingFiles(source, path, out);
    } else if (name.endsWith(source.ext) && st.size >= 200 && st.size <= 400_000 && !heldOut(source.name, relative(source.root, path))) out.push(path);
  }
  return out;
}

const model = await loadModel(bunHost, modelDir, { dtype: "fp32", device: "wasm" });
// The hybrid only makes generation faster: greedy output is the model's either way.
const recycleTable = await model.draftAssets?.recycleTable();
const drafter = createDrafter("hybrid", { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model), ...(recycleTable ? { recycle: { table: recycleTable } } : {}) });
// Python first in each round of 4 windows, TypeScript every 4th: the bench's mix is mostly Python.
const files = SOURCES.map((s) => trainingFiles(s));
const documents: number[][] = [];
let tokens = 0;
const t0 = performance.now();
for (let i = 0; tokens < budget; i++) {
  const pool = files[i % 4 === 3 ? 1 : 0]!;
  const file = pool[(i * 7919) % pool.length]!;
  const ids = model.tokenizer.encode(readFileSync(file, "utf8"), false);
  if (ids.length < 300) continue;
  const length = 96 + ((i * 37) % 128);
  const start = (i * 104729) % (ids.length - length);
  const prompt = ids.slice(start, start + length);
  const r = await generate(model, prompt, { maxTokens: NEW_TOKENS, stopAtEos: true, drafter });
  documents.push([...prompt.slice(-CONTEXT), ...r.tokens]);
  tokens += r.tokens.length;
  if (documents.length % 200 === 0) console.error(`${documents.length} continuations, ${tokens} tokens, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const source = `draft-corpus:${createHash("sha1").update(JSON.stringify(documents)).digest("hex").slice(0, 16)}`;
const index = CorpusIndex.build(documents, { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model), source });
const bytes = index.save();
const out = (flags.out as string) ?? join(modelDir, CORPUS_FILE);
writeFileSync(out, bytes);
if (!flags.out) {
  const configPath = join(modelDir, "config.json");
  const text = readFileSync(configPath, "utf8");
  const config = JSON.parse(text);
  if (config.edgespec?.draft_corpus !== CORPUS_FILE) {
    // Inserted as a line where there is an edgespec block: a JSON rewrite would reformat the
    // file's numbers (1e-05 becomes 0.00001, 10000.0 becomes 10000).
    const block = /^(\s*)"edgespec": \{\n(\s*)/m.exec(text);
    const line = `"draft_corpus": "${CORPUS_FILE}",\n`;
    if (block) writeFileSync(configPath, text.slice(0, block.index + block[0].length) + line + block[2] + text.slice(block.index + block[0].length));
    else writeFileSync(configPath, `${JSON.stringify({ ...config, edgespec: { ...config.edgespec, draft_corpus: CORPUS_FILE } }, null, 2)}\n`);
  }
}
console.log(`${out}: ${bytes.length} bytes, ${documents.length} continuations, ${tokens} generated tokens (${index.tokenCount} in the index), ${((performance.now() - t0) / 1000).toFixed(0)} s`);
await model.lm.dispose();
