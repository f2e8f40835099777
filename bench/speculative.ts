/**
 * Speculative decoding benchmark: every drafter against plain decoding in ONE run, per workload,
 * plus @huggingface/transformers generate() on the same model as the peer, interleaved per prompt
 * and repeated (medians and ranges over passes).
 *
 *   bun bench/speculative.ts [--model DIR] [--dtype q8] [--max-tokens 128] [--limit N] [--repeats 3]
 *                            [--drafters recycle,sam,ngram,hybrid] [--no-peer] [--threads N] [--device wasm|cpu]
 *                            [--no-history] [--learned-curve] [--kernels auto|wasm|ts] [--cold-table] [--no-draft-corpus]
 *
 * --kernels: what the drafters run on; `auto` (default) is what the CLI and the server use (WASM
 * where the runtime gives the binary), so the drafting share measured is the one users get.
 * --no-history: sam and hybrid keep no request history, so each prompt is drafted from itself
 * alone (what the suite gains from the outputs of its earlier prompts, next to a default run).
 * --learned-curve: trees are sized on a verify cost curve learned from the runs' steps, as a
 * one-shot `generate` sizes them, instead of one timed before the runs, as a server's.
 * --cold-table, --no-draft-corpus: drafters start without the model's warm recycling table, or
 * sam and hybrid without its draft corpus (what each is worth, next to a default run).
 *
 * Writes bench/results/speculative[-MODEL][-DEVICE].json and .md (no MODEL for the reference
 * edgespec-tiny, no DEVICE for wasm) and refreshes the table between
 * `<!-- bench:speculative[-MODEL][-DEVICE]:start/end -->` in README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { type BenchPrompt, benchMarkdown, firstPerWorkload, runSpeculativeBench, stepMarkdown } from "../src/benchmark/speculative.ts";
import { parseFlags } from "../src/cli/args.ts";
import { createDrafter, DRAFTER_NAMES } from "../src/drafters/index.ts";
import { builtinDrafters } from "../src/drafters/registry.ts";
import { fingerprintOf } from "../src/engine/drafting.ts";
import { parseDtype } from "../src/model/dtype.ts";
import { parseDevice } from "../src/model/device-choice.ts";
import { loadModel } from "../src/model/load.ts";
import { threadsPhrase } from "../src/model/ort-env.ts";
import { chooseKernels } from "../src/setup.ts";
import { KERNEL_CHOICES, type KernelChoice } from "../src/drafters/kernels/index.ts";
import { transformersPeer } from "./peer.ts";
import { REFERENCE_MODEL } from "../src/model/shipped.ts";

const flags = parseFlags(process.argv.slice(2), {
  dtype: { type: "string", help: "" },
  "max-tokens": { type: "int", help: "" },
  limit: { type: "int", help: "" },
  drafters: { type: "string", help: "" },
  "no-peer": { type: "boolean", help: "" },
  "no-history": { type: "boolean", help: "" },
  "learned-curve": { type: "boolean", help: "" },
  threads: { type: "int", help: "" },
  model: { type: "string", help: "" },
  repeats: { type: "int", help: "" },
  device: { type: "string", help: "" },
  "cold-table": { type: "boolean", help: "" },
  "no-draft-corpus": { type: "boolean", help: "" },
  kernels: { type: "string", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const modelName = basename(modelDir);
const device = parseDevice((flags.device as string) ?? "wasm");
const suffix = (modelName === REFERENCE_MODEL ? "" : `-${modelName}`) + (device === "wasm" ? "" : `-${device}`) + (flags["no-history"] ? "-no-history" : "") + (flags["learned-curve"] ? "-learned-curve" : "") + (flags["cold-table"] ? "-cold-table" : "") + (flags["no-draft-corpus"] ? "-no-draft-corpus" : "");
const repeats = (flags.repeats as number) ?? 3;
const dtype = parseDtype((flags.dtype as string) ?? "fp32");
const maxTokens = (flags["max-tokens"] as number) ?? 128;
const all: BenchPrompt[] = JSON.parse(readFileSync(new URL("prompts.json", import.meta.url), "utf8")).prompts;
const prompts = flags.limit ? firstPerWorkload(all, flags.limit as number) : all;
const drafters = ((flags.drafters as string) ?? DRAFTER_NAMES.filter((d) => d !== "none").join(",")).split(",");

const kernelChoice = ((flags.kernels as string) ?? "auto") as KernelChoice;
if (!KERNEL_CHOICES.includes(kernelChoice)) throw new Error(`--kernels takes ${KERNEL_CHOICES.join(", ")}`);
// One kernel set for every drafter, as setUp gives a model's drafters.
const kernels = await chooseKernels(bunHost, kernelChoice, console.error);
const model = await loadModel(bunHost, modelDir, { dtype, device, threads: flags.threads as number | undefined, onProgress: console.error });
const table = flags["cold-table"] ? undefined : await model.draftAssets?.recycleTable();
const draftCorpus = flags["no-draft-corpus"] ? undefined : await model.draftAssets?.draftCorpus();
// The drafters that take a corpus, as the registry declares them (setUp hands it to the same ones).
const registry = builtinDrafters();
const usesCorpus = (name: string) => !!registry.maker(name)?.usesCorpus;

const report = await runSpeculativeBench(model, prompts, {
  drafters,
  // The model's warm recycling table (if it ships one) unless --cold-table: as the CLI and server start.
  makeDrafter: (name) =>
    createDrafter(name, {
      vocabSize: model.lm.spec.vocabSize,
      tokenizerFingerprint: fingerprintOf(model),
      kernels,
      // The model's draft corpus (if it ships one) unless --no-draft-corpus: as setUp gives sam and hybrid.
      sam: { ...(flags["no-history"] ? { historyTokens: 0 } : {}), ...(draftCorpus && usesCorpus(name) ? { corpus: draftCorpus } : {}) },
      ...(table ? { recycle: { table } } : {}),
    }),
  maxTokens,
  repeats,
  costCurve: flags["learned-curve"] ? "learned" : "timed",
  peer: flags["no-peer"] ? undefined : await (async () => {
    const peer = await transformersPeer(modelDir, dtype);
    return { name: peer.name, run: (p: BenchPrompt) => peer.run(p.prompt, maxTokens) };
  })(),
  onProgress: (l) => console.error(l),
});
const peak = process.memoryUsage().rss;

const md = `Model \`${modelName}\` (${report.model.dtype}, ${report.model.backend}${report.model.threads ? `, ${threadsPhrase(report.model.threads)}` : ""}, Bun, drafters on ${kernels.name === "wasm" ? "WASM" : "TypeScript"} kernels), ${report.prompts} prompts, ${maxTokens} new tokens each, greedy, ${report.repeats} passes; plain, every drafter${flags["no-history"] ? " (without request history)" : ""}${flags["learned-curve"] ? " (trees sized on a cost curve learned from the steps)" : ""}${table ? " (recycling tables start from the model's warm table)" : ""}${draftCorpus ? ` (sam and hybrid match the model's draft corpus, ${draftCorpus.tokenCount} tokens)` : ""}${flags["no-peer"] ? "" : " and the peer"} back to back per prompt.
Speedup = plain decode time / decode time for identical output: the median over passes (range in brackets). Tokens/s count decode only (the first token comes with the prefill, on every side). Mismatches against plain: ${Object.entries(report.results.all!).map(([c, v]) => `${c} ${v.mismatches}`).join(", ")}.
MAL = mean accepted length (tokens per verification step, bonus included). transformers.js peer: generate() on onnxruntime-node CPU, decode time = time for ${maxTokens} tokens − time for 1.
Mean speedup over workloads: ${Object.entries(report.meanSpeedup).map(([d, s]) => `${d} ${s}x`).join(", ")}. Time to the first token (prefill and its token, mean per prompt, median over passes): ${Object.entries(report.results.all!).filter(([, v]) => v.firstTokenMs !== undefined).map(([c, v]) => `${c} ${v.firstTokenMs} ms`).join(", ")}. Peak RSS of the bench process: ${Math.round(peak / 2 ** 20)} MiB. Verify cost (ms by tokens fed): ${report.verifyCost.map((p) => `${p.tokens}: ${p.ms}`).join(", ")}.

${benchMarkdown(report)}

Where decode time goes (all workloads, share of decode time): forward = the model's forwards with their outputs read back; draft = proposing and learning; select = sizing the tree; verify = choosing tokens from the rows; kv = rolling the cache back; other = emitting text, stop rules.

${stepMarkdown(report)}
`;
mkdirSync(new URL("results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`results/speculative${suffix}.json`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), ...report, peakRssBytes: peak }, null, 1));
writeFileSync(new URL(`results/speculative${suffix}.md`, import.meta.url), md);
const readmeUrl = new URL("../README.md", import.meta.url);
const readme = readFileSync(readmeUrl, "utf8");
const start = `<!-- bench:speculative${suffix}:start -->`;
const end = `<!-- bench:speculative${suffix}:end -->`;
if (readme.includes(start)) {
  writeFileSync(readmeUrl, readme.slice(0, readme.indexOf(start) + start.length) + "\n" + md + readme.slice(readme.indexOf(end)));
}
console.log(md);
