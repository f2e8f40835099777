/**
 * WebGPU decoding with the KV cache on the GPU against the cache in JS memory (copied both ways
 * every step), same model, same adapter, in one run: plain and hybrid greedy decoding, tokens/s,
 * bytes read back per token, the step-time breakdown, and the verify cost by tree width. Runs
 * under Deno (the runtime with `navigator.gpu`); on a machine without a GPU, Deno's software
 * adapter (llvmpipe), where the ratios say what the copies cost, not what a GPU does.
 *
 *   deno run -A bench/webgpu.ts [--model DIR] [--dtype fp32] [--max-tokens 32] [--repeats 3] [--out NAME]
 *
 * On a machine with a GPU, run it as is: the header line names the adapter. Writes
 * bench/results/webgpu[-NAME].json and .md.
 */
import { denoHost } from "../adapters/deno/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { generatePlain } from "../src/decode/plain.ts";
import { buildDrafter, readDraftAssets } from "../src/engine/drafting.ts";
import { median } from "../src/engine/curve-fit.ts";
import { generate } from "../src/engine/speculative.ts";
import { parseDtype } from "../src/model/dtype.ts";
import { loadModel } from "../src/model/load.ts";
import { REFERENCE_MODEL } from "../src/model/shipped.ts";

declare const Deno: { args: string[]; writeTextFile(path: string, text: string): Promise<void>; version: { deno: string } };
const flags = parseFlags(Deno.args, {
  model: { type: "string", help: "" },
  dtype: { type: "string", help: "" },
  "max-tokens": { type: "int", help: "" },
  repeats: { type: "int", help: "" },
  out: { type: "string", help: "" },
});
const ROOT = new URL("../", import.meta.url).pathname;
const dir = (flags.model as string | undefined) ?? `${ROOT}models/${REFERENCE_MODEL}`;
const dtype = parseDtype((flags.dtype as string | undefined) ?? "fp32");
const maxTokens = (flags["max-tokens"] as number | undefined) ?? 32;
const repeats = (flags.repeats as number | undefined) ?? 3;
const PROMPTS = ["def fibonacci(n):", "a = [1, 2, 3, 4]\nb = [1, 2, 3, 4]\nc = ["];

const models = {
  "KV on GPU": await loadModel(denoHost, dir, { dtype, device: "webgpu" }),
  "KV in JS memory": await loadModel(denoHost, dir, { dtype, device: "webgpu", gpuKvCache: false }),
};
const adapter = Object.values(models)[0]!.lm.info.adapter ?? "unknown";
for (const m of Object.values(models)) await readDraftAssets(m, { name: "hybrid" });
type Sample = { tokS: number; readBack: number; steps: number; stepMs?: Record<string, number>; tokens: string };
const samples: Record<string, Sample[]> = {};
let mismatches = 0;
const opts = { maxTokens, stopAtEos: false };
for (let r = 0; r < repeats; r++) {
  for (const prompt of PROMPTS) {
    // Interleaved: each configuration once per prompt per pass, so drift hits all alike.
    let reference: string | undefined;
    for (const [cache, m] of Object.entries(models)) {
      for (const drafter of ["plain", "hybrid"]) {
        const res = drafter === "plain" ? await generatePlain(m, prompt, opts) : await generate(m, prompt, { ...opts, drafter: buildDrafter(m, { name: "hybrid" }) });
        const s = res.stats as typeof res.stats & { steps?: number; stepMs?: Record<string, number> };
        const tokens = res.tokens.join();
        reference ??= tokens;
        if (tokens !== reference) mismatches++;
        (samples[`${cache} / ${drafter}`] ??= []).push({ tokS: s.tokensPerSecond, readBack: s.readBackBytesPerToken ?? 0, steps: s.steps ?? res.tokens.length - 1, ...(s.stepMs ? { stepMs: s.stepMs } : {}), tokens });
      }
    }
  }
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const rows = Object.entries(samples).map(([name, xs]) => {
  const tok = xs.map((x) => x.tokS);
  const stepMs: Record<string, number> = {};
  for (const key of Object.keys(xs[0]!.stepMs ?? {})) stepMs[key] = round(median(xs.map((x) => x.stepMs![key]! / Math.max(1, x.steps))));
  return { name, tokS: round(median(tok)), min: round(Math.min(...tok)), max: round(Math.max(...tok)), readBack: Math.round(median(xs.map((x) => x.readBack))), stepMs };
});
const base = (n: string) => rows.find((r) => r.name === n)!.tokS;
// Verify cost by tree width, as the engine measured it at load (medians of repeated forwards).
const costs: Record<string, { tokens: number; ms: number }[]> = {};
for (const [cache, m] of Object.entries(models)) {
  const r = await generate(m, PROMPTS[0]!, { maxTokens: 4, stopAtEos: false, drafter: buildDrafter(m, { name: "hybrid" }) });
  costs[cache] = r.stats.verifyCost;
}
for (const m of Object.values(models)) await m.lm.dispose();
const date = new Date().toISOString();
const report = { model: dir.split("/").filter(Boolean).pop(), dtype, adapter, runtime: `deno ${Deno.version.deno}`, date, maxTokens, repeats, prompts: PROMPTS.length, mismatches, rows, verifyCost: costs };
const stem = `${ROOT}bench/results/webgpu${flags.out ? `-${flags.out}` : ""}`;
await Deno.writeTextFile(`${stem}.json`, JSON.stringify(report, null, 2) + "\n");
const md = `WebGPU, ${report.model} ${dtype}, adapter "${adapter}" (${report.runtime}, ${date.slice(0, 10)}): ${maxTokens} tokens, ${PROMPTS.length} prompts, ${repeats} passes interleaved, medians [range]; greedy. Mismatches against the first configuration: ${mismatches}. Step ms per step (hybrid): forward, draft, select, verify, kv, other.

| configuration | tok/s | vs same drafter, KV in JS memory | bytes read back per token | step ms (hybrid) |
| --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.name} | ${r.tokS} [${r.min}–${r.max}] | ${round(r.tokS / base(r.name.replace("KV on GPU", "KV in JS memory")))}x | ${r.readBack} | ${Object.keys(r.stepMs).length ? Object.values(r.stepMs).join(" / ") : "–"} |`).join("\n")}

Verify cost (ms by tokens fed, measured at load): ${Object.entries(costs).map(([c, xs]) => `${c}: ${xs.map((x) => `${x.tokens}: ${x.ms}`).join(", ")}`).join("; ")}.
`;
await Deno.writeTextFile(`${stem}.md`, md);
console.log(md);
