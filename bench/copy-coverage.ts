/**
 * How much of each workload's output a retrieval drafter could copy at all: per workload, the share
 * of the greedy output's tokens that lie in a span of at least N tokens also found in the prompt,
 * or (not in the prompt) earlier in the output itself; the rest is text neither holds. No timing:
 * it bounds what drafting from the prompt and the output can reach, whatever the drafter (a token
 * in no such span must come from the model one step at a time, or from the recycling table's
 * guesses). The bench's 128 greedy tokens per prompt, as bench/speculative.ts generates them.
 *
 *   bun bench/copy-coverage.ts [--model DIR,DIR] [--spans 4,8,16] [--max-tokens 128] [--device wasm|cpu]
 *
 * Writes bench/results/copy-coverage.md.
 */
import { writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import type { BenchPrompt } from "../src/benchmark/speculative.ts";
import { parseFlags } from "../src/cli/args.ts";
import { generatePlain } from "../src/decode/plain.ts";
import { loadModel } from "../src/model/load.ts";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  spans: { type: "string", help: "" },
  "max-tokens": { type: "int", help: "" },
  device: { type: "string", help: "" },
});
const models = ((flags.model as string | undefined) ?? "models/edgespec-tiny,models/edgespec-small").split(",").map((m) => resolve(m));
const spans = ((flags.spans as string | undefined) ?? "4,8,16").split(",").map(Number);
if (spans.some((n) => !(Number.isInteger(n) && n >= 1))) throw new Error("--spans takes positive integers, e.g. 4,8,16");
const maxTokens = (flags["max-tokens"] as number | undefined) ?? 128;
const device = ((flags.device as string | undefined) ?? "wasm") as "wasm" | "cpu";
const prompts: BenchPrompt[] = JSON.parse(await Bun.file(new URL("prompts.json", import.meta.url)).text()).prompts;

/** Per output token: 1 if a span of `n` or more tokens over it occurs in `prompt`, else 2 if earlier in `out`, else 0. */
function coverage(prompt: ArrayLike<number>, out: ArrayLike<number>, n: number): Uint8Array {
  const key = (a: ArrayLike<number>, i: number) => Array.prototype.slice.call(a, i, i + n).join(",");
  const inPrompt = new Set<string>();
  for (let i = 0; i + n <= prompt.length; i++) inPrompt.add(key(prompt, i));
  const earlier = new Set<string>();
  const marks = new Uint8Array(out.length);
  for (let i = 0; i + n <= out.length; i++) {
    // Output windows that end before this one starts: text already written when this one is drafted.
    if (i - n >= 0) earlier.add(key(out, i - n));
    const k = key(out, i);
    const mark = inPrompt.has(k) ? 1 : earlier.has(k) ? 2 : 0;
    for (let j = i; j < i + n; j++) if (mark === 1 || (mark === 2 && marks[j] === 0)) marks[j] = mark;
  }
  return marks;
}

const workloads = [...new Set(prompts.map((p) => p.workload))];
const rows: string[] = [];
for (const dir of models) {
  const model = await loadModel(bunHost, dir, { dtype: "fp32", device });
  const counts = new Map<string, number[]>(); // workload -> per span: [tokens, prompt, own] flattened
  for (const p of prompts) {
    const ids = model.tokenizer.encode(p.prompt, true);
    const out = (await generatePlain(model, p.prompt, { maxTokens, stopAtEos: false })).tokens;
    const c = counts.get(p.workload) ?? new Array(spans.length * 3).fill(0);
    spans.forEach((n, s) => {
      const marks = coverage(ids, out, n);
      c[3 * s] += out.length;
      for (const m of marks) if (m > 0) c[3 * s + m]++;
    });
    counts.set(p.workload, c);
  }
  await model.lm.dispose();
  const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;
  for (const w of [...workloads, "all"]) {
    const c = w === "all" ? [...counts.values()].reduce((a, b) => a.map((x, i) => x + b[i]!)) : counts.get(w)!;
    rows.push(`| ${basename(dir)} | ${w} | ${spans.map((_, s) => `${pct(c[3 * s + 1]!, c[3 * s]!)} / ${pct(c[3 * s + 2]!, c[3 * s]!)}`).join(" | ")} |`);
  }
}
const md = `Share of each workload's greedy output (${maxTokens} tokens a prompt, ${prompts.length} prompts, ${device}) in spans of at least N tokens found in the prompt / else earlier in the output; the rest neither holds.

| model | workload | ${spans.map((n) => `N = ${n}: prompt / own`).join(" | ")} |
| --- | --- | ${spans.map(() => "---").join(" | ")} |
${rows.join("\n")}
`;
writeFileSync(new URL("results/copy-coverage.md", import.meta.url), md);
console.log(md);
