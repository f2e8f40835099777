/**
 * Builds a model's warm Token Recycling table: the model's own top-8 next tokens after every
 * token of generic text, as Token Recycling would have learned them over many requests, so a
 * one-shot run (the CLI, a browser tab, a server's first requests) starts with a warm table and
 * with each row's steadiness (how many rewrites kept its best candidate), which the drafter's
 * confidence classes read.
 *
 *   bun tools/warm-table.ts --model models/edgespec-small [--tokens 150000] [--out FILE]
 *
 * The text: Python standard-library files (/usr/lib/python3.11) of the training split only —
 * tools/make_bench_prompts.py draws the bench prompts from the held-out files (the same hash
 * rule), so the table never saw a benchmark's text. Up to 4 chunks of 512 tokens per file, files
 * taken at an even stride so the text spreads over the library. Deterministic.
 *
 * Without --out the table is written beside the model as recycle-table.bin and named in
 * config.json (`edgespec.recycle_table`), where loading finds it.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { TokenRecyclingDrafter } from "../src/drafters/token-recycling.ts";
import { tokenizerFingerprint } from "../src/drafters/index.ts";
import { topKRows } from "../src/engine/verify.ts";
import { loadModel } from "../src/model/load.ts";

const PY = "/usr/lib/python3.11";
const SKIP = new Set(["test", "tests", "idlelib", "lib2to3", "__pycache__", "site-packages", "dist-packages"]);
const CHUNK = 512;
const CHUNKS_PER_FILE = 4;
const FILES = 200;
const TABLE_FILE = "recycle-table.bin";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  tokens: { type: "int", help: "" },
  out: { type: "string", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const budget = (flags.tokens as number) ?? 150_000;

/** As tools/make_bench_prompts.py: a file is held out when the first byte of this hash is below 13. */
const heldOut = (rel: string) => createHash("sha1").update(`python-stdlib/${rel}`).digest()[0]! < 13;

function trainingFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) {
      if (!SKIP.has(name)) trainingFiles(path, out);
    } else if (name.endsWith(".py") && st.size >= 200 && st.size <= 400_000 && !heldOut(relative(PY, path))) out.push(path);
  }
  return out;
}

const model = await loadModel(bunHost, modelDir, { dtype: "fp32", device: "wasm" });
const vocab = model.lm.spec.vocabSize;
const table = new TokenRecyclingDrafter({ vocabSize: vocab, tokenizerFingerprint: tokenizerFingerprint(model.tokenizer.json) });
const files = trainingFiles(PY);
const stride = Math.max(1, Math.floor(files.length / FILES));
let tokens = 0;
const t0 = performance.now();
for (let f = 0; f < files.length && tokens < budget; f += stride) {
  const ids = model.tokenizer.encode(readFileSync(files[f]!, "utf8"), false);
  for (let c = 0; c < CHUNKS_PER_FILE && c * CHUNK + 16 < ids.length && tokens < budget; c++) {
    const piece = ids.slice(c * CHUNK, (c + 1) * CHUNK);
    const cache = model.lm.newCache();
    const logits = await model.lm.forward(piece, piece.map((_, i) => i), cache);
    // The rows as a verify step reports them: each token's top-8, in a chain.
    table.observe({ accepted: [], verifiedTokens: piece, topK: topKRows(logits, piece.length, vocab, table.k), k: table.k });
    tokens += piece.length;
  }
}
const bytes = table.save();
const out = (flags.out as string) ?? join(modelDir, TABLE_FILE);
writeFileSync(out, bytes);
if (!flags.out) {
  const configPath = join(modelDir, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  // Rewritten only when it does not name the table yet (a rewrite reformats numbers like 1e-05).
  if (config.edgespec?.recycle_table !== TABLE_FILE) {
    config.edgespec = { ...config.edgespec, recycle_table: TABLE_FILE };
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  }
}
const rows = countRows(table, vocab);
console.log(`${out}: ${bytes.length} bytes, ${tokens} tokens from ${files.length} training-split files (every ${stride}th), ${rows} of ${vocab} rows written, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
await model.lm.dispose();

function countRows(d: TokenRecyclingDrafter, v: number): number {
  let n = 0;
  for (let t = 0; t < v; t++) if (d.row(t)[0]! >= 0) n++;
  return n;
}
