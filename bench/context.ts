/**
 * Decode speed as the context grows: plain, hybrid and the transformers.js peer after prompts of
 * ~32, ~500 and ~1000 tokens (windows of the project's own Python in tools/), interleaved per
 * prompt, repeated, medians with ranges. The question it answers: how much slower is a step at
 * 1000 tokens of context than at 32, for us and for the peer.
 *
 *   bun bench/context.ts [--model DIR] [--device wasm|cpu] [--dtype fp32] [--contexts 32,500,1000]
 *                        [--windows 3] [--max-tokens 64] [--repeats 3] [--no-peer] [--threads N]
 *
 * Writes bench/results/context[-MODEL][-DEVICE].json and .md and refreshes the table between
 * `<!-- bench:context[-MODEL][-DEVICE]:start/end -->` in README.md.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { createDrafter } from "../src/drafters/index.ts";
import { median } from "../src/engine/curve-fit.ts";
import { generate } from "../src/engine/speculative.ts";
import { parseDtype } from "../src/model/dtype.ts";
import { parseDevice } from "../src/model/device-choice.ts";
import { loadModel } from "../src/model/load.ts";
import { REFERENCE_MODEL } from "../src/model/shipped.ts";
import { transformersPeer } from "./peer.ts";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  device: { type: "string", help: "" },
  dtype: { type: "string", help: "" },
  contexts: { type: "string", help: "" },
  windows: { type: "int", help: "" },
  "max-tokens": { type: "int", help: "" },
  repeats: { type: "int", help: "" },
  "no-peer": { type: "boolean", help: "" },
  threads: { type: "int", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const modelName = basename(modelDir);
const device = parseDevice((flags.device as string) ?? "wasm");
const dtype = parseDtype((flags.dtype as string) ?? "fp32");
const contexts = ((flags.contexts as string) ?? "32,500,1000").split(",").map(Number);
const windows = (flags.windows as number) ?? 3;
const maxTokens = (flags["max-tokens"] as number) ?? 64;
const repeats = (flags.repeats as number) ?? 3;
const suffix = (modelName === REFERENCE_MODEL ? "" : `-${modelName}`) + (device === "wasm" ? "" : `-${device}`);

const model = await loadModel(bunHost, modelDir, { dtype, device, threads: flags.threads as number | undefined, onProgress: console.error });
const toolsDir = new URL("../tools/", import.meta.url).pathname;
const corpus = readdirSync(toolsDir).filter((f) => f.endsWith(".py")).sort().map((f) => readFileSync(toolsDir + f, "utf8")).join("\n\n");
const ids = model.tokenizer.encode(corpus, false);
// Prompt + new tokens stay inside the model's context (edgespec-tiny's is 1024).
const room = model.lm.spec.contextLength - maxTokens;
if (contexts.some((c) => c > room)) console.error(`contexts above ${room} tokens are cut to ${room} (context ${model.lm.spec.contextLength}, ${maxTokens} new tokens)`);
for (let i = 0; i < contexts.length; i++) contexts[i] = Math.min(contexts[i]!, room);
const longest = Math.max(...contexts);
if (ids.length < longest + windows * 97) throw new Error(`tools/*.py has ${ids.length} tokens, too few for ${windows} windows of ${longest}`);
// Windows start at different places (a prime stride apart) so each prompt ends somewhere else.
const prompt = (ctx: number, w: number) => ids.slice(w * 97 + (longest - ctx), w * 97 + longest);
const peer = flags["no-peer"] ? undefined : await transformersPeer(modelDir, dtype);
const configs = ["plain", "hybrid", ...(peer ? [peer.name] : [])];

async function once(config: string, p: number[]): Promise<{ tokens: number[]; decodeMs: number }> {
  if (config === peer?.name) return peer.run(p, maxTokens);
  // A fresh hybrid per run: every context of a window ends where the others do, so a drafter kept
  // across runs would meet the same continuation again (its request history) and measure recall.
  const drafter = config === "hybrid" ? createDrafter("hybrid", { vocabSize: model.lm.spec.vocabSize }) : undefined;
  const r = await generate(model, p, { maxTokens, stopAtEos: false, ...(drafter ? { drafter } : {}) });
  drafter?.dispose();
  return { tokens: r.tokens, decodeMs: r.stats.decodeMs };
}

// Warm-up (untimed) for every config at the longest context.
for (const c of configs) await once(c, prompt(longest, 0));
/** context -> config -> tokens/s per pass (decode tokens over decode time, summed over windows). */
const perPass = new Map<number, Map<string, number[]>>();
let mismatches = 0;
for (let rep = 0; rep < repeats; rep++) {
  for (const ctx of contexts) {
    const sums = new Map<string, { tokens: number; ms: number }>();
    for (let w = 0; w < windows; w++) {
      let plain: number[] | undefined;
      for (const c of configs) {
        const r = await once(c, prompt(ctx, w));
        if (c === "plain") plain = r.tokens;
        else if (c === "hybrid" && r.tokens.join() !== plain!.join()) mismatches++;
        const s = sums.get(c) ?? { tokens: 0, ms: 0 };
        s.tokens += r.tokens.length - 1; // the first token comes with the prefill on every side
        s.ms += r.decodeMs;
        sums.set(c, s);
      }
    }
    const byConfig = perPass.get(ctx) ?? new Map<string, number[]>();
    perPass.set(ctx, byConfig);
    for (const [c, s] of sums) byConfig.set(c, [...(byConfig.get(c) ?? []), (1000 * s.tokens) / s.ms]);
    console.error(`pass ${rep + 1}/${repeats} context ${ctx}: ${[...sums].map(([c, s]) => `${c} ${((1000 * s.tokens) / s.ms).toFixed(1)} tok/s`).join(" | ")}`);
  }
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const results = contexts.map((ctx) => ({
  context: ctx,
  ...Object.fromEntries(configs.map((c) => {
    const v = perPass.get(ctx)!.get(c)!;
    return [c, { tokensPerSecond: r1(median(v)), range: [r1(Math.min(...v)), r1(Math.max(...v))] }];
  })),
})) as ({ context: number } & Record<string, { tokensPerSecond: number; range: number[] }>)[];
const tps = (ctx: number, c: string) => results.find((r) => r.context === ctx)![c]!.tokensPerSecond;
const short = contexts[0]!;
const rows = results.map((r) => `| ${r.context} | ${configs.map((c) => `${r[c]!.tokensPerSecond} (${r[c]!.range.join("–")})`).join(" | ")} | ${(tps(r.context, "hybrid") / tps(r.context, "plain")).toFixed(2)}x | ${configs.map((c) => `${(tps(short, c) / tps(r.context, c)).toFixed(2)}x`).join(" | ")} |`);
const md = `Model \`${modelName}\` (${dtype}, ${model.lm.info.backend}, Bun): ${windows} prompts per context (windows of tools/*.py), ${maxTokens} new tokens each, greedy, ${repeats} passes, configs back to back per prompt; decode tokens/s, median over passes (range). Hybrid output differed from plain in ${mismatches} runs. Slowdown = tokens/s at ${short} tokens of context / tokens/s at this context.

| context (tokens) | ${configs.map((c) => `${c} tok/s`).join(" | ")} | hybrid speedup | ${configs.map((c) => `${c} slowdown`).join(" | ")} |
| --- | ${configs.map(() => "---").join(" | ")} | --- | ${configs.map(() => "---").join(" | ")} |
${rows.join("\n")}
`;
mkdirSync(new URL("results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`results/context${suffix}.json`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), model: modelName, device: model.lm.info.backend, dtype, maxTokens, windows, repeats, mismatches, results }, null, 1));
writeFileSync(new URL(`results/context${suffix}.md`, import.meta.url), md);
const readmeUrl = new URL("../README.md", import.meta.url);
const readme = readFileSync(readmeUrl, "utf8");
const start = `<!-- bench:context${suffix}:start -->`;
const end = `<!-- bench:context${suffix}:end -->`;
if (readme.includes(start)) writeFileSync(readmeUrl, readme.slice(0, readme.indexOf(start) + start.length) + "\n" + md + readme.slice(readme.indexOf(end)));
console.log(md);
