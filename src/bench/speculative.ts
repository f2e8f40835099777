/**
 * The speculative-decoding benchmark core, runtime-free (the CLI's `edgespec bench` and
 * bench/speculative.ts both call it). For every prompt it runs plain greedy decoding and then each
 * drafter in the same process, checks the outputs are identical (the lossless contract), and
 * aggregates per workload: tokens/s, speedup over plain, mean accepted length, drafter share of time.
 */
import type { Drafter } from "../drafters/types.ts";
import { generate, verifyCostModel } from "../engine/generate.ts";
import type { LoadedModel } from "../model/load.ts";

export interface BenchPrompt {
  id: string;
  workload: string;
  prompt: string;
}

export interface BenchOptions {
  drafters: readonly string[];
  /** One drafter instance per name for the whole run (cross-request memory stays hot, as in a server). */
  makeDrafter: (name: string) => Drafter;
  maxTokens: number;
  onProgress?: (line: string) => void;
}

export interface Cell {
  tokens: number;
  decodeMs: number;
  tokensPerSecond: number;
  steps: number;
  meanAcceptedLength: number;
  drafterShare: number;
  speedup: number;
  mismatches: number;
}

export interface BenchReport {
  model: { backend: string; dtype: string; dir: string };
  maxTokens: number;
  prompts: number;
  verifyCost: { tokens: number; ms: number }[];
  /** workload -> config ("plain" or drafter) -> cell; workload "all" aggregates everything. */
  results: Record<string, Record<string, Cell>>;
  /** Mean over workloads of each drafter's speedup. */
  meanSpeedup: Record<string, number>;
}

interface Acc {
  tokens: number;
  decodeMs: number;
  steps: number;
  drafterMs: number;
  mismatches: number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export async function runSpeculativeBench(model: LoadedModel, prompts: readonly BenchPrompt[], opts: BenchOptions): Promise<BenchReport> {
  const cost = await verifyCostModel(model.lm); // measured once, outside every timed run
  const drafters = new Map(opts.drafters.map((d) => [d, opts.makeDrafter(d)]));
  const acc = new Map<string, Map<string, Acc>>();
  const add = (workload: string, config: string, a: Omit<Acc, "mismatches">, mismatch: boolean) => {
    for (const w of [workload, "all"]) {
      const byConfig = acc.get(w) ?? new Map<string, Acc>();
      acc.set(w, byConfig);
      const cur = byConfig.get(config) ?? { tokens: 0, decodeMs: 0, steps: 0, drafterMs: 0, mismatches: 0 };
      cur.tokens += a.tokens;
      cur.decodeMs += a.decodeMs;
      cur.steps += a.steps;
      cur.drafterMs += a.drafterMs;
      cur.mismatches += mismatch ? 1 : 0;
      byConfig.set(config, cur);
    }
  };
  // Warm-up (untimed): JIT, wasm and allocator warm for every config before the first timed run.
  if (prompts[0]) {
    await generate(model, prompts[0].prompt, { maxTokens: 8 });
    for (const d of drafters.values()) await generate(model, prompts[0].prompt, { maxTokens: 8, drafter: d });
  }
  for (const [i, p] of prompts.entries()) {
    // stopAtEos false: every config generates exactly maxTokens, so time compares like with like.
    const plain = await generate(model, p.prompt, { maxTokens: opts.maxTokens, stopAtEos: false });
    add(p.workload, "plain", { tokens: plain.tokens.length, decodeMs: plain.stats.decodeMs, steps: plain.stats.steps, drafterMs: 0 }, false);
    const line = [`${i + 1}/${prompts.length} ${p.id}: plain ${plain.stats.tokensPerSecond} tok/s`];
    for (const [name, drafter] of drafters) {
      const r = await generate(model, p.prompt, { maxTokens: opts.maxTokens, stopAtEos: false, drafter });
      const same = r.tokens.length === plain.tokens.length && r.tokens.every((t, k) => t === plain.tokens[k]);
      add(p.workload, name, { tokens: r.tokens.length, decodeMs: r.stats.decodeMs, steps: r.stats.steps, drafterMs: r.stats.drafterMs }, !same);
      line.push(`${name} ${r.stats.tokensPerSecond} tok/s MAL ${r.stats.meanAcceptedLength}${same ? "" : " MISMATCH"}`);
    }
    opts.onProgress?.(line.join(" | "));
  }
  const results: BenchReport["results"] = {};
  for (const [w, byConfig] of acc) {
    const plain = byConfig.get("plain")!;
    results[w] = {};
    for (const [config, a] of byConfig) {
      results[w]![config] = {
        tokens: a.tokens,
        decodeMs: r2(a.decodeMs),
        tokensPerSecond: r2((a.tokens / a.decodeMs) * 1000),
        steps: a.steps,
        // Each step emits accepted + 1; the prefill's token is not a step.
        meanAcceptedLength: r2(a.steps ? (a.tokens - countPrompts(prompts, w)) / a.steps : 0),
        drafterShare: r2((a.drafterMs / a.decodeMs) * 100) / 100,
        speedup: r2(plain.decodeMs / a.decodeMs),
        mismatches: a.mismatches,
      };
    }
  }
  const workloads = Object.keys(results).filter((w) => w !== "all");
  const meanSpeedup: Record<string, number> = {};
  for (const d of opts.drafters) meanSpeedup[d] = r2(workloads.reduce((s, w) => s + results[w]![d]!.speedup, 0) / workloads.length);
  return { model: { backend: model.lm.info.backend, dtype: model.lm.info.dtype, dir: model.dir }, maxTokens: opts.maxTokens, prompts: prompts.length, verifyCost: cost.summary(), results, meanSpeedup };
}

function countPrompts(prompts: readonly BenchPrompt[], workload: string): number {
  return workload === "all" ? prompts.length : prompts.filter((p) => p.workload === workload).length;
}

/** The report as a markdown table: one row per workload, columns per config. */
export function benchMarkdown(r: BenchReport, peer?: Record<string, number>): string {
  const configs = Object.keys(r.results.all ?? {});
  const drafters = configs.filter((c) => c !== "plain");
  const head = ["workload", "plain tok/s", ...drafters.flatMap((d) => [`${d} tok/s`, `${d} speedup`, `${d} MAL`]), ...(peer ? ["transformers.js tok/s"] : [])];
  const order = [...Object.keys(r.results).filter((w) => w !== "all"), "all"];
  const rows = order.map((w) => [w, r.results[w]!] as const).map(([w, cells]) => [
    w,
    String(cells.plain!.tokensPerSecond),
    ...drafters.flatMap((d) => [String(cells[d]!.tokensPerSecond), `${cells[d]!.speedup}x`, String(cells[d]!.meanAcceptedLength)]),
    ...(peer ? [String(peer[w] ?? "")] : []),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
