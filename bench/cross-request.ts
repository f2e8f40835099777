/**
 * Drafts across requests, on one long-lived drafter as a server runs them, in two series:
 * "similar": the same task for a dozen entities (agent-style, greedy); "samples": four samples of
 * each of four prompts (temperature 0.8, best-of-n and self-consistency style, seeds 1–4). Per
 * request, back to back: plain
 * decoding, hybrid with request history (the default), and hybrid without it (historyTokens 0;
 * both hybrids keep their recycling tables across the series, so the difference is the history
 * alone). The series is repeated with fresh drafters each pass (medians and ranges over passes).
 *
 *   bun bench/cross-request.ts [--series similar|samples] [--model DIR] [--max-tokens 128] [--repeats 3]
 *
 * Writes bench/results/cross-request-SERIES[-MODEL].json and .md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { HybridDrafter } from "../src/drafters/hybrid.ts";
import { median } from "../src/engine/curve-fit.ts";
import { fingerprintOf } from "../src/engine/drafting.ts";
import { generate } from "../src/engine/speculative.ts";
import { prepareCostCurve } from "../src/engine/cost-curves.ts";
import { REFERENCE_MODEL } from "../src/model/shipped.ts";
import { setUp } from "../src/setup.ts";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  "max-tokens": { type: "int", help: "" },
  repeats: { type: "int", help: "" },
  series: { type: "string", help: "" },
});
const setup = await setUp(bunHost, { model: flags.model as string | undefined, dtype: "fp32", device: "wasm", drafter: "none", onProgress: (e) => e.phase === "note" && console.error(e.message) });
const { model, kernels } = setup;
const name = basename(resolve(setup.dir));
const maxTokens = (flags["max-tokens"] as number) ?? 128;
const repeats = (flags.repeats as number) ?? 3;
await prepareCostCurve(model.lm); // timed once, as a server does, outside every timed run

const ENTITIES = ["user", "order", "product", "invoice", "address", "payment", "shipment", "customer", "supplier", "employee", "ticket", "event"];
const similar = ENTITIES.map((e) => ({ prompt: `import csv\n\n\n# Task: read ${e} records from a CSV file and return them as a list of dicts.\ndef load_${e}s(path):\n`, temperature: 0, seed: 0 }));
const BASES = ["def merge_sorted(a, b):\n", "class LRUCache:\n    def __init__(self, capacity):\n", "def parse_args(argv):\n", "def retry(fn, attempts=3):\n"];
const samples = BASES.flatMap((prompt) => [1, 2, 3, 4].map((seed) => ({ prompt, temperature: 0.8, seed })));
const series = (flags.series as string | undefined) ?? "similar";
if (series !== "similar" && series !== "samples") throw new Error(`--series similar|samples, got ${series}`);
const requests = series === "similar" ? similar : samples;

type Config = "plain" | "hybrid" | "hybrid, no history";
const CONFIGS: Config[] = ["plain", "hybrid", "hybrid, no history"];
const decodeMs: Record<Config, number[]> = { plain: [], hybrid: [], "hybrid, no history": [] };
const tokens: Record<Config, number[]> = { plain: [], hybrid: [], "hybrid, no history": [] };
const steps: Record<Config, number[]> = { plain: [], hybrid: [], "hybrid, no history": [] };
let historyAccepted = 0;
let mismatches = 0;
const common = { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model), kernels };

for (let rep = 0; rep < repeats; rep++) {
  const drafters = { hybrid: new HybridDrafter(common), "hybrid, no history": new HybridDrafter({ ...common, sam: { historyTokens: 0 } }) };
  const sums = { ms: [0, 0, 0], tokens: [0, 0, 0], steps: [0, 0, 0] };
  for (const [i, { prompt, temperature, seed }] of requests.entries()) {
    const line: string[] = [];
    let plainTokens = "";
    for (const [c, config] of CONFIGS.entries()) {
      const r = await generate(model, prompt, { maxTokens, stopAtEos: false, temperature, seed, drafter: config === "plain" ? undefined : drafters[config] });
      // Greedy output must be plain's token for token; sampled output has the model's distribution (tested elsewhere), not plain's draws.
      if (config === "plain") plainTokens = r.tokens.join();
      else if (temperature === 0 && r.tokens.join() !== plainTokens) mismatches++;
      if (config === "hybrid") historyAccepted += r.stats.perDrafter["sam-history"]?.accepted ?? 0;
      sums.ms[c]! += r.stats.decodeMs;
      sums.tokens[c]! += r.tokens.length - 1; // decode tokens: the first comes with the prefill
      sums.steps[c]! += Math.max(1, r.stats.steps);
      line.push(`${config} ${r.stats.tokensPerSecond} tok/s MAL ${r.stats.meanAcceptedLength}`);
    }
    console.error(`pass ${rep + 1}/${repeats} request ${i + 1}: ${line.join(" | ")}`);
  }
  for (const [c, config] of CONFIGS.entries()) {
    decodeMs[config].push(sums.ms[c]!);
    tokens[config].push(sums.tokens[c]!);
    steps[config].push(sums.steps[c]!);
  }
  for (const d of Object.values(drafters)) d.dispose();
}
await setup.close();

const r2 = (x: number) => Math.round(x * 100) / 100;
const rows = CONFIGS.map((c) => {
  const speedups = decodeMs[c].map((ms, k) => decodeMs.plain[k]! / ms);
  const tps = decodeMs[c].map((ms, k) => (tokens[c][k]! / ms) * 1000);
  return {
    config: c,
    tokensPerSecond: r2(median(tps)),
    speedup: r2(median(speedups)),
    range: [r2(Math.min(...speedups)), r2(Math.max(...speedups))],
    meanAcceptedLength: r2(median(tokens[c].map((t, k) => t / steps[c][k]!))),
  };
});
const what =
  series === "similar"
    ? `${requests.length} similar requests in a series (the same CSV-loading task for ${requests.length} entities), greedy`
    : `${requests.length} requests in a series: 4 samples (temperature 0.8, seeds 1–4) of each of 4 prompts`;
const check = series === "similar" ? `Mismatches against plain: ${mismatches}.` : "Sampled: outputs differ run to run; the speedup compares decode time for the same requests.";
const md = `Model \`${name}\` (fp32, wasm, Bun): ${what}, ${maxTokens} new tokens each, ${repeats} passes with fresh drafters, configs back to back per request. Both hybrids keep their state across the series; "no history" drafts nothing from earlier requests' outputs. Decode time only. ${check} Tokens accepted from earlier requests' outputs (hybrid, all passes): ${historyAccepted}.

| config | decode tok/s (median) | speedup over plain (median, range) | MAL |
| --- | --- | --- | --- |
${rows.map((r) => `| ${r.config} | ${r.tokensPerSecond} | ${r.speedup}x (${r.range[0]}–${r.range[1]}) | ${r.meanAcceptedLength} |`).join("\n")}
`;
console.log(md);
const out = new URL("results/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const suffix = name === REFERENCE_MODEL ? "" : `-${name}`;
writeFileSync(`${out}cross-request-${series}${suffix}.json`, `${JSON.stringify({ model: name, series, maxTokens, repeats, requests: requests.length, mismatches, historyAccepted, rows }, null, 2)}\n`);
writeFileSync(`${out}cross-request-${series}${suffix}.md`, md);
