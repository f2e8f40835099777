/**
 * Predicted Outputs benchmark: how much a prediction speeds decoding up when it is right, when a
 * span of it was edited, and when it is wrong — against plain decoding and the hybrid drafter
 * alone, back to back per prompt, repeated (medians and ranges over passes). The prediction is the
 * plain greedy output of the same request (what an edit workload's "the file as it was" is when
 * the model keeps it), edited by replacing an eighth of it in the middle with other tokens.
 *
 *   bun bench/prediction.ts [--model DIR] [--limit 6] [--max-tokens 256] [--repeats 3]
 *
 * Writes bench/results/prediction[-MODEL].json and .md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import type { BenchPrompt } from "../src/benchmark/speculative.ts";
import { parseFlags } from "../src/cli/args.ts";
import { createDrafter } from "../src/drafters/index.ts";
import { median } from "../src/engine/curve-fit.ts";
import { generate } from "../src/engine/speculative.ts";
import { prepareCostCurve } from "../src/engine/cost-curves.ts";
import { loadModel } from "../src/model/load.ts";
import { REFERENCE_MODEL } from "../src/model/shipped.ts";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  limit: { type: "int", help: "" },
  "max-tokens": { type: "int", help: "" },
  repeats: { type: "int", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const name = basename(modelDir);
const maxTokens = (flags["max-tokens"] as number) ?? 256;
const repeats = (flags.repeats as number) ?? 3;
const all: BenchPrompt[] = JSON.parse(readFileSync(new URL("prompts.json", import.meta.url), "utf8")).prompts;
const prompts = all.filter((p) => p.workload === "code" || p.workload === "edit").slice(0, (flags.limit as number) ?? 6);

const model = await loadModel(bunHost, modelDir, { dtype: "fp32", device: "wasm", onProgress: console.error });
await prepareCostCurve(model.lm); // timed once, as a server does, outside every timed run
const V = model.lm.spec.vocabSize;

type Config = "plain" | "hybrid" | "hybrid + right prediction" | "hybrid + edited prediction" | "none + right prediction" | "hybrid + wrong prediction";
const CONFIGS: Config[] = ["plain", "hybrid", "hybrid + right prediction", "hybrid + edited prediction", "none + right prediction", "hybrid + wrong prediction"];
const ms: Record<Config, number[]> = Object.fromEntries(CONFIGS.map((c) => [c, []])) as unknown as Record<Config, number[]>;
const mal: Record<Config, number[]> = Object.fromEntries(CONFIGS.map((c) => [c, []])) as unknown as Record<Config, number[]>;
let mismatches = 0;

const targets = new Map<string, number[]>();
for (const p of prompts) targets.set(p.id, (await generate(model, p.prompt, { maxTokens, stopAtEos: false })).tokens);

for (let rep = 0; rep < repeats; rep++) {
  const sums = Object.fromEntries(CONFIGS.map((c) => [c, 0])) as Record<Config, number>;
  for (const p of prompts) {
    const right = targets.get(p.id)!;
    const cut = Math.floor(right.length / 2);
    const span = Math.max(1, Math.floor(right.length / 8));
    const edited = [...right.slice(0, cut), ...Array.from({ length: span }, (_, i) => 3 + ((right[cut + i]! + 7 * (i + 1)) % (V - 3))), ...right.slice(cut + span)];
    const wrong = right.map((t, i) => 3 + ((t + 11 * (i + 1)) % (V - 3)));
    const line: string[] = [];
    for (const c of CONFIGS) {
      const prediction = c.endsWith("right prediction") ? right : c.endsWith("edited prediction") ? edited : c.endsWith("wrong prediction") ? wrong : undefined;
      // A fresh hybrid per run: the configs repeat each prompt, and a kept drafter would draft the
      // answer from its request history of the run before.
      const drafter = c.startsWith("hybrid") ? createDrafter("hybrid", { vocabSize: model.lm.spec.vocabSize }) : undefined;
      const r = await generate(model, p.prompt, { maxTokens, stopAtEos: false, drafter, prediction });
      drafter?.dispose();
      if (r.tokens.join() !== right.join()) mismatches++;
      sums[c] += r.stats.decodeMs;
      mal[c].push(r.stats.meanAcceptedLength || 1);
      line.push(`${c} ${r.stats.tokensPerSecond} tok/s`);
    }
    console.error(`pass ${rep + 1}/${repeats} ${p.id}: ${line.join(" | ")}`);
  }
  for (const c of CONFIGS) ms[c].push(sums[c]);
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const rows = CONFIGS.map((c) => {
  const speedups = ms[c].map((m, k) => ms.plain[k]! / m);
  return { config: c, speedup: r2(median(speedups)), range: [r2(Math.min(...speedups)), r2(Math.max(...speedups))], meanAcceptedLength: r2(median(mal[c])) };
});
const md = `Model \`${name}\` (fp32, wasm, Bun): ${prompts.length} prompts (code and edit workloads), ${maxTokens} new tokens, greedy, ${repeats} passes, configs back to back per prompt. The prediction is the plain output itself (right), with an eighth of it replaced in the middle (edited), or every token changed (wrong). Mismatches against plain: ${mismatches}.

| config | speedup over plain (median, range) | MAL (median per run) |
| --- | --- | --- |
${rows.map((r) => `| ${r.config} | ${r.speedup}x (${r.range[0]}–${r.range[1]}) | ${r.meanAcceptedLength} |`).join("\n")}
`;
const suffix = name === REFERENCE_MODEL ? "" : `-${name}`;
mkdirSync(new URL("results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`results/prediction${suffix}.json`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), model: name, maxTokens, repeats, prompts: prompts.map((p) => p.id), mismatches, rows }, null, 1));
writeFileSync(new URL(`results/prediction${suffix}.md`, import.meta.url), md);
console.log(md);
