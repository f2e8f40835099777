/**
 * Speculative decoding benchmark: every drafter against plain decoding in ONE run, per workload,
 * plus @huggingface/transformers generate() on the same model as the peer.
 *
 *   bun bench/speculative.ts [--dtype q8] [--max-tokens 128] [--limit N] [--drafters recycle,sam,ngram,hybrid] [--no-peer]
 *
 * Writes bench/results/speculative.json and .md, and refreshes the table in README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";
import { bunHost } from "../adapters/bun/host.ts";
import { type BenchPrompt, benchMarkdown, runSpeculativeBench } from "../src/bench/speculative.ts";
import { parseFlags } from "../src/cli/args.ts";
import { createDrafter, DRAFTER_NAMES } from "../src/drafters/index.ts";
import { loadModel } from "../src/model/load.ts";

const flags = parseFlags(process.argv.slice(2), {
  dtype: { type: "string", help: "" },
  "max-tokens": { type: "int", help: "" },
  limit: { type: "int", help: "" },
  drafters: { type: "string", help: "" },
  "no-peer": { type: "boolean", help: "" },
  threads: { type: "int", help: "" },
});
const dtype = (flags.dtype as string) ?? "fp32";
const maxTokens = (flags["max-tokens"] as number) ?? 128;
const all: BenchPrompt[] = JSON.parse(readFileSync(new URL("prompts.json", import.meta.url), "utf8")).prompts;
const prompts = flags.limit ? pickPerWorkload(all, flags.limit as number) : all;
const drafters = ((flags.drafters as string) ?? DRAFTER_NAMES.filter((d) => d !== "none").join(",")).split(",");

/** The first `n` prompts of every workload (a quick run still covers every workload). */
function pickPerWorkload(ps: BenchPrompt[], n: number): BenchPrompt[] {
  const seen = new Map<string, number>();
  return ps.filter((p) => {
    const k = seen.get(p.workload) ?? 0;
    seen.set(p.workload, k + 1);
    return k < n;
  });
}

const model = await loadModel(bunHost, bunHost.defaultModelDir(), { dtype, device: "wasm", threads: flags.threads as number | undefined, onProgress: console.error });
const report = await runSpeculativeBench(model, prompts, {
  drafters,
  makeDrafter: (name) => createDrafter(name, { vocabSize: model.lm.spec.vocabSize }),
  maxTokens,
  onProgress: (l) => console.error(l),
});

let peer: Record<string, number> | undefined;
if (!flags["no-peer"]) {
  // transformers.js on Node/Bun runs onnxruntime-node (native CPU); it has no "wasm" device there.
  env.allowRemoteModels = false;
  env.localModelPath = `${bunHost.defaultModelDir()}/../`;
  const tok = await AutoTokenizer.from_pretrained("edgespec-tiny");
  const tjs = await AutoModelForCausalLM.from_pretrained("edgespec-tiny", { dtype: dtype === "q8" ? "q8" : (dtype as "fp32"), device: "cpu" });
  const sums = new Map<string, { tokens: number; ms: number }>();
  for (const p of prompts) {
    const inputs = tok(p.prompt);
    const t0 = performance.now();
    const out = (await tjs.generate({ ...inputs, max_new_tokens: maxTokens, min_new_tokens: maxTokens, do_sample: false })) as { dims: number[] };
    const ms = performance.now() - t0;
    const n = out.dims[1]! - (inputs.input_ids as { dims: number[] }).dims[1]!;
    for (const w of [p.workload, "all"]) {
      const s = sums.get(w) ?? { tokens: 0, ms: 0 };
      s.tokens += n;
      s.ms += ms;
      sums.set(w, s);
    }
  }
  peer = Object.fromEntries([...sums].map(([w, s]) => [w, Math.round((s.tokens / s.ms) * 100000) / 100]));
  await tjs.dispose();
}

const md = `Reference model \`edgespec-tiny\` (${report.model.dtype}, ${report.model.backend}, Bun), ${report.prompts} prompts, ${maxTokens} new tokens each, greedy.
Speedup = plain decode time / speculative decode time for identical output (mismatches: ${report.results.all ? Object.entries(report.results.all).map(([c, v]) => `${c} ${v.mismatches}`).join(", ") : "n/a"}).
MAL = mean accepted length (tokens per verification step, bonus included). transformers.js peer: generate() on onnxruntime-node CPU (prefill included).
Mean speedup over workloads: ${Object.entries(report.meanSpeedup).map(([d, s]) => `${d} ${s}x`).join(", ")}.

${benchMarkdown(report, peer)}
`;
mkdirSync(new URL("results/", import.meta.url), { recursive: true });
writeFileSync(new URL("results/speculative.json", import.meta.url), JSON.stringify({ date: new Date().toISOString(), ...report, peer }, null, 1));
writeFileSync(new URL("results/speculative.md", import.meta.url), md);
const readmeUrl = new URL("../README.md", import.meta.url);
const readme = readFileSync(readmeUrl, "utf8");
const start = "<!-- bench:speculative:start -->";
const end = "<!-- bench:speculative:end -->";
if (readme.includes(start)) {
  writeFileSync(readmeUrl, readme.slice(0, readme.indexOf(start) + start.length) + "\n" + md + readme.slice(readme.indexOf(end)));
}
console.log(md);
