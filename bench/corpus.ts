/**
 * A static corpus: the suffix-array index (CorpusIndex) against the suffix automaton it replaced,
 * on Python's standard library (held out from edgespec-small's training data) through the
 * model's tokenizer, at two corpus sizes. Not a test: timings and RSS depend on the machine.
 *
 *   bun bench/corpus.ts [--model DIR] [--mb 5,12] [--files 6] [--repeats 3] [--max-tokens 96]
 *
 * - Size and time: bytes held, RSS grown by building, after it and at its peak (each structure
 *   built in a fresh child process, after a full GC), build time, the saved file, its load time, and the tokenizing both pay first.
 * - Draft quality without a model: walking real files token by token, each step drafts a tree from
 *   the corpus alone (3 branches, chain 40, as the sam drafter does) and accepts the longest path
 *   the true text follows; tokens per step = accepted + 1. "in corpus": the first files of the
 *   corpus itself (continuations exist verbatim); "held out": files left out of the corpus.
 * - With the model: plain decoding vs the hybrid drafter (the default) without and with the corpus
 *   index, greedy, interleaved per prompt, repeated; medians. Each generation gets a fresh drafter
 *   with no request history, so the corpus is the only difference.
 *
 * Writes bench/results/corpus-MODEL.json and .md, and the table between README's
 * `<!-- bench:corpus-MODEL:start/end -->` markers.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { generatePlain } from "../src/decode/plain.ts";
import { CorpusIndex } from "../src/drafters/corpus-index.ts";
import { loadWasmKernels } from "../src/drafters/kernels/index.ts";
import type { AutomatonKernel, KernelSet, TreeKernel } from "../src/drafters/kernels/types.ts";
import { HybridDrafter } from "../src/drafters/hybrid.ts";
import type { DraftTree } from "../src/drafters/types.ts";
import { median } from "../src/engine/curve-fit.ts";
import { fingerprintOf } from "../src/engine/drafting.ts";
import { generate } from "../src/engine/speculative.ts";
import { prepareCostCurve } from "../src/engine/cost-curves.ts";
import { setUp } from "../src/setup.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const STDLIB = "/usr/lib/python3.11/";
const kernelBytes = () => readFileSync(`${ROOT}wasm/pkg/edgespec_kernels.wasm`);

// A child measures one structure's RSS: `--child automaton|index TOKENS_FILE VOCAB`.
if (process.argv[2] === "--child") {
  const [kind, file, vocab] = process.argv.slice(3);
  const raw = readFileSync(file!);
  const tokens = new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const kernels = await loadWasmKernels(kernelBytes());
  const gc = () => (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
  gc();
  const before = process.memoryUsage().rss;
  resetPeak();
  const t0 = performance.now();
  const held = kind === "automaton" ? buildAutomaton(kernels, tokens).memoryBytes() : CorpusIndex.build(splitDocs(tokens), { vocabSize: Number(vocab) }).memoryBytes();
  const buildMs = performance.now() - t0;
  gc();
  console.log(JSON.stringify({ buildMs, heldBytes: held, rssGrowth: process.memoryUsage().rss - before, peakGrowth: peakRss() - before }));
  process.exit(0);
}

/** The process's peak RSS (VmHWM), reset first so the peak is the build's. */
function peakRss(): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
}
function resetPeak(): void {
  writeFileSync("/proc/self/clear_refs", "5");
}

function buildAutomaton(kernels: KernelSet, tokens: Int32Array): AutomatonKernel {
  const a = kernels.automaton(tokens.length + 1);
  a.extend(tokens);
  a.setCursor(0, 0);
  return a;
}

/** Documents of a joined token file (-1 between them). */
function splitDocs(tokens: Int32Array): Int32Array[] {
  const docs: Int32Array[] = [];
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i === tokens.length || tokens[i] === -1) {
      docs.push(tokens.subarray(start, i));
      start = i + 1;
    }
  }
  return docs;
}

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  mb: { type: "string", help: "" },
  files: { type: "int", help: "" },
  repeats: { type: "int", help: "" },
  "max-tokens": { type: "int", help: "" },
});
const setup = await setUp(bunHost, { model: flags.model as string | undefined, dtype: "fp32", device: "wasm", drafter: "none" });
const { model, kernels } = setup;
const modelName = basename(resolve(setup.dir));
const vocab = model.lm.spec.vocabSize;
const fingerprint = fingerprintOf(model);
const sizesMb = ((flags.mb as string | undefined) ?? "5,12").split(",").map(Number);
const queryFiles = (flags.files as number) ?? 6;
const repeats = (flags.repeats as number) ?? 3;
const maxTokens = (flags["max-tokens"] as number) ?? 96;

function pythonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isDirectory() && !/^(test|tests|__pycache__|idle_test)$/.test(e.name)) out.push(...pythonFiles(join(dir, e.name)));
    else if (e.isFile() && e.name.endsWith(".py")) out.push(join(dir, e.name));
  }
  return out;
}

// Every 16th file is held out of the corpus; of the rest, files in order up to the size.
const all = pythonFiles(STDLIB).filter((f) => statSync(f).size > 2000);
const heldOut = all.filter((_, i) => i % 16 === 7);
const pool = all.filter((_, i) => i % 16 !== 7);
const encode = (f: string) => model.tokenizer.encode(readFileSync(f, "utf8"), false);

const work = mkdtempSync(join(tmpdir(), "edgespec-corpus-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const wasm = await loadWasmKernels(kernelBytes());
const report: Record<string, unknown>[] = [];
const largest = { index: undefined as CorpusIndex | undefined, inCorpus: [] as number[][] };

for (const mb of sizesMb) {
  const files: string[] = [];
  let bytes = 0;
  for (const f of pool) {
    if (bytes >= mb * 1e6) break;
    files.push(f);
    bytes += statSync(f).size;
  }
  let t0 = performance.now();
  const docs = files.map(encode);
  const tokenizeMs = performance.now() - t0;
  const joined: number[] = [];
  for (const d of docs) joined.push(...(joined.length ? [-1] : []), ...d);
  const tokenFile = join(work, `tokens-${mb}.bin`);
  writeFileSync(tokenFile, new Uint8Array(Int32Array.from(joined).buffer));
  const child = (kind: string) => JSON.parse(spawnSync(process.execPath, [import.meta.path, "--child", kind, tokenFile, String(vocab)], { encoding: "utf8" }).stdout) as { buildMs: number; heldBytes: number; rssGrowth: number; peakGrowth: number };
  const sizes = { automaton: child("automaton"), index: child("index") };
  const index = CorpusIndex.build(docs, { vocabSize: vocab, tokenizerFingerprint: fingerprint });
  const saved = index.save();
  t0 = performance.now();
  CorpusIndex.load(saved, { vocabSize: vocab, tokenizerFingerprint: fingerprint });
  const loadMs = performance.now() - t0;
  const automaton = buildAutomaton(wasm, Int32Array.from(joined));
  const quality = {
    inCorpus: draftQuality(automaton, index, docs.slice(0, queryFiles).map((d) => d.slice(0, 1500))),
    heldOut: draftQuality(automaton, index, heldOut.slice(0, queryFiles).map((f) => encode(f).slice(0, 1500))),
  };
  automaton.dispose();
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  report.push({
    corpusMB: Math.round(bytes / 1e5) / 10,
    files: files.length,
    tokens: index.tokenCount,
    tokenizeMs: Math.round(tokenizeMs),
    automaton: { heldMiB: mib(sizes.automaton.heldBytes), bytesPerToken: Math.round((sizes.automaton.heldBytes / index.tokenCount) * 10) / 10, rssGrowthMiB: mib(sizes.automaton.rssGrowth), peakGrowthMiB: mib(sizes.automaton.peakGrowth), buildMs: Math.round(sizes.automaton.buildMs) },
    index: { heldMiB: mib(sizes.index.heldBytes), bytesPerToken: Math.round((sizes.index.heldBytes / index.tokenCount) * 10) / 10, rssGrowthMiB: mib(sizes.index.rssGrowth), peakGrowthMiB: mib(sizes.index.peakGrowth), buildMs: Math.round(sizes.index.buildMs), savedMiB: mib(saved.length), loadMs: Math.round(loadMs) },
    quality,
  });
  console.error(JSON.stringify(report.at(-1)));
  largest.index = index;
  largest.inCorpus = docs.slice(0, queryFiles);
}

/** Tokens per step drafting from the corpus alone, walking each text; both structures on the same steps. */
function draftQuality(automaton: AutomatonKernel, index: CorpusIndex, texts: number[][]) {
  const tree = wasm.tree();
  const cursor = index.cursor();
  const sums = { automaton: { steps: 0, tokens: 0, us: 0 }, index: { steps: 0, tokens: 0, us: 0 } };
  for (const which of ["automaton", "index"] as const) {
    for (const text of texts) {
      const prompt = Math.min(64, text.length - 1);
      if (which === "automaton") {
        automaton.setCursor(0, 0);
        automaton.advance(text.slice(0, prompt));
      } else {
        cursor.reset();
        cursor.advance(text.slice(0, prompt));
      }
      for (let pos = prompt; pos < text.length; ) {
        const t0 = performance.now();
        tree.clear(80);
        if (which === "automaton") automaton.draftInto(tree, 40, 3, 1, 2);
        else cursor.draftInto(tree, 40, 3, 1, 2);
        const accepted = longestPath(tree.finish(), text, pos);
        const step = text.slice(pos, pos + accepted + 1);
        if (which === "automaton") automaton.advance(step);
        else cursor.advance(step);
        sums[which].us += (performance.now() - t0) * 1000;
        sums[which].steps++;
        sums[which].tokens += step.length;
        pos += step.length;
      }
    }
  }
  tree.dispose();
  const r = (s: { steps: number; tokens: number; us: number }) => ({ tokensPerStep: Math.round((s.tokens / s.steps) * 1000) / 1000, usPerStep: Math.round((s.us / s.steps) * 10) / 10 });
  return { automaton: r(sums.automaton), index: r(sums.index) };
}

function longestPath(tree: DraftTree, truth: number[], pos: number): number {
  let node = -1;
  let n = 0;
  for (;;) {
    let child = -1;
    for (let i = 0; i < tree.size && child < 0; i++) if (tree.parents[i] === node && tree.tokens[i] === truth[pos + n]) child = i;
    if (child < 0 || pos + n >= truth.length) return n;
    node = child;
    n++;
  }
}

// With the model: the largest corpus, prompts that start files in it and files held out of it.
await prepareCostCurve(model.lm); // timed once, as a server does, outside every timed run
const prompts = {
  "in corpus": largest.inCorpus.slice(0, 4).map((d) => d.slice(0, 200)),
  "held out": heldOut.slice(0, 4).map((f) => encode(f).slice(0, 200)),
};
const params = { maxTokens, stopAtEos: false };
const e2e: Record<string, unknown> = {};
for (const [series, list] of Object.entries(prompts)) {
  const tps: Record<string, number[]> = { plain: [], hybrid: [], "hybrid+corpus": [] };
  const mal: Record<string, number[]> = { hybrid: [], "hybrid+corpus": [] };
  let mismatches = 0;
  for (let pass = 0; pass < repeats; pass++) {
    const totals: Record<string, { tokens: number; ms: number; steps: number }> = {};
    for (const ids of list) {
      const plain = await generatePlain(model, ids, params);
      const add = (k: string, tokens: number, ms: number, steps: number) => {
        const t = (totals[k] ??= { tokens: 0, ms: 0, steps: 0 });
        t.tokens += tokens;
        t.ms += ms;
        t.steps += steps;
      };
      add("plain", plain.tokens.length - 1, plain.stats.seconds * 1000 - plain.stats.prefillMs, plain.tokens.length - 1);
      for (const k of ["hybrid", "hybrid+corpus"]) {
        const drafter = new HybridDrafter({ vocabSize: vocab, kernels, tokenizerFingerprint: fingerprint, sam: { historyTokens: 0, ...(k === "hybrid" ? {} : { corpus: largest.index }) } });
        const r = await generate(model, ids, { ...params, drafter });
        if (r.tokens.join() !== plain.tokens.join()) mismatches++;
        add(k, r.tokens.length - 1, r.stats.seconds * 1000 - r.stats.prefillMs, r.stats.steps);
      }
    }
    for (const [k, t] of Object.entries(totals)) {
      tps[k]!.push((t.tokens / t.ms) * 1000);
      if (k !== "plain") mal[k]!.push(t.tokens / t.steps);
    }
  }
  const m = (xs: number[]) => Math.round(median(xs) * 10) / 10;
  e2e[series] = {
    plainTokS: m(tps.plain!),
    hybrid: { tokS: m(tps.hybrid!), speedup: Math.round((median(tps.hybrid!) / median(tps.plain!)) * 100) / 100, mal: Math.round(median(mal.hybrid!) * 100) / 100 },
    withCorpus: { tokS: m(tps["hybrid+corpus"]!), speedup: Math.round((median(tps["hybrid+corpus"]!) / median(tps.plain!)) * 100) / 100, mal: Math.round(median(mal["hybrid+corpus"]!) * 100) / 100 },
    mismatches,
  };
  console.error(series, JSON.stringify(e2e[series]));
}

const out = { model: modelName, runtime: `bun ${Bun.version}`, date: new Date().toISOString(), sizes: report, withModel: { maxTokens, repeats, prompts: 4, ...e2e } };
mkdirSync(`${ROOT}bench/results`, { recursive: true });
const stem = `${ROOT}bench/results/corpus-${modelName}`;
writeFileSync(`${stem}.json`, JSON.stringify(out, null, 2) + "\n");
const rows = report.map((s) => {
  const a = s.automaton as Record<string, number>;
  const x = s.index as Record<string, number>;
  const q = s.quality as Record<string, Record<string, { tokensPerStep: number; usPerStep: number }>>;
  return `| ${s.corpusMB} MB, ${s.tokens} tokens | ${a.bytesPerToken} / ${x.bytesPerToken} | ${a.peakGrowthMiB} / ${x.peakGrowthMiB} MiB | ${a.buildMs} / ${x.buildMs} ms | ${x.savedMiB} MiB, ${x.loadMs} ms | ${s.tokenizeMs} ms | ${q.inCorpus!.automaton!.tokensPerStep} / ${q.inCorpus!.index!.tokensPerStep} | ${q.heldOut!.automaton!.tokensPerStep} / ${q.heldOut!.index!.tokensPerStep} | ${q.heldOut!.automaton!.usPerStep} / ${q.heldOut!.index!.usPerStep} |`;
});
const e = (k: string) => e2e[k] as { plainTokS: number; hybrid: { tokS: number; speedup: number; mal: number }; withCorpus: { tokS: number; speedup: number; mal: number }; mismatches: number };
const md = `Static corpus, automaton / index (${modelName}, Python stdlib, ${out.runtime}, ${out.date.slice(0, 10)}). Bytes per token: held once built (the index builds with ~16 more, freed after). Tokens per step: drafting from the corpus alone against the true text (3 branches, chain 40); µs per step: that draft plus advancing over the accepted tokens.

| corpus | bytes per token | peak RSS growth while building | build | index saved, load | tokenize (both) | tokens/step, in corpus | tokens/step, held out | µs per step |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

With the model (${maxTokens} tokens, 4 prompts, ${repeats} passes, medians; decode only):

| prompts | plain tok/s | hybrid | hybrid + corpus index | mismatches |
| --- | --- | --- | --- | --- |
${Object.keys(e2e)
  .map((k) => `| ${k} | ${e(k).plainTokS} | ${e(k).hybrid.tokS} (${e(k).hybrid.speedup}x, MAL ${e(k).hybrid.mal}) | ${e(k).withCorpus.tokS} (${e(k).withCorpus.speedup}x, MAL ${e(k).withCorpus.mal}) | ${e(k).mismatches} |`)
  .join("\n")}
`;
writeFileSync(`${stem}.md`, md);
console.log(md);
// README shows the latest run between its markers.
const readmeUrl = new URL("../README.md", import.meta.url);
const readme = readFileSync(readmeUrl, "utf8");
const [start, end] = [`<!-- bench:corpus-${modelName}:start -->`, `<!-- bench:corpus-${modelName}:end -->`];
if (readme.includes(start)) writeFileSync(readmeUrl, readme.slice(0, readme.indexOf(start) + start.length) + "\n" + md + readme.slice(readme.indexOf(end)));
await setup.close();
