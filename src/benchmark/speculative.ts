/**
 * The speculative-decoding benchmark core, runtime-free (the CLI's `edgespec bench` and
 * bench/speculative.ts both call it). For every prompt it runs plain greedy decoding and then each
 * drafter (and the peer, if given) back to back, so a slow patch of a shared machine hits every
 * config alike; checks the outputs are identical (the lossless contract); and repeats the whole
 * suite `repeats` times. Per workload it reports the median over repeats of tokens/s and of the
 * speedup over plain (with the range, so a 10% change can be told from noise), mean accepted
 * length and the drafter's share of decode time. Decode time excludes prefill on every side.
 */
import type { Drafter, ManagedDrafter } from "../drafters/types.ts";
import { median } from "../engine/curve-fit.ts";
import { generate } from "../engine/speculative.ts";
import { prepareCostCurve, verifyCostModel } from "../engine/cost-curves.ts";
import type { LoadedModel } from "../model/load.ts";

export interface BenchPrompt {
  id: string;
  workload: string;
  prompt: string;
}

/** The first `n` prompts of every workload (a quick run still covers every workload). */
export function firstPerWorkload<P extends { workload: string }>(prompts: readonly P[], n: number): P[] {
  const seen = new Map<string, number>();
  return prompts.filter((p) => {
    const k = seen.get(p.workload) ?? 0;
    seen.set(p.workload, k + 1);
    return k < n;
  });
}

export interface BenchOptions {
  drafters: readonly string[];
  /**
   * A fresh drafter. Each pass gets its own instances, kept across that pass's prompts (cross-request
   * memory stays hot within a pass, as in a server); the warm-up gets throwaway ones. A drafter
   * that remembers earlier outputs (sam and hybrid's request history, Token Recycling's matrix)
   * would otherwise meet every prompt of a second pass with its own output from the first, and the
   * passes would measure recall, not drafting.
   */
  makeDrafter: (name: string) => Drafter;
  maxTokens: number;
  /** Passes over the whole suite (default 1); figures are medians over passes. */
  repeats?: number;
  /**
   * Another engine on the same model, run right after each prompt's configs: its decode time
   * (prefill excluded) for `maxTokens` new tokens, and the tokens (compared, not required equal).
   */
  peer?: { name: string; run: (prompt: BenchPrompt) => Promise<{ tokens: number[]; decodeMs: number; firstTokenMs?: number }> };
  /**
   * How trees are sized: on a verify cost curve timed before the runs, as a server times it as it
   * starts ("timed", default), or on one learned from the runs' own steps, as a one-shot
   * `generate` does ("learned"). Either way the curve is the model's, shared by every run.
   */
  costCurve?: "timed" | "learned";
  onProgress?: (line: string) => void;
}

export interface Cell {
  tokens: number;
  decodeMs: number;
  tokensPerSecond: number;
  steps: number;
  meanAcceptedLength: number;
  drafterShare: number;
  /** Median over repeats of plain decode time / this config's. */
  speedup: number;
  /** The lowest and highest speedup over repeats. */
  speedupRange: [number, number];
  /** The lowest and highest tokens/s over repeats. */
  tokensPerSecondRange: [number, number];
  mismatches: number;
  /** Share of decode time per part of a step (stats.stepMs), for edgespec's own configs. */
  stepShare?: Record<string, number>;
  /** Time to the first token (the prefill and its token), mean per prompt: the median over repeats; absent where not measured. */
  firstTokenMs?: number;
}

export interface BenchReport {
  model: { backend: string; dtype: string; threads?: number; dir: string };
  maxTokens: number;
  prompts: number;
  repeats: number;
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
  /** Summed stats.stepMs (edgespec's own configs). */
  stepMs?: Record<string, number>;
  /** Summed time to the first token, where measured. */
  firstTokenMs?: number;
}

const STEP_PARTS = ["forward", "draft", "select", "verify", "kv", "other"] as const;

const r2 = (x: number) => Math.round(x * 100) / 100;

export async function runSpeculativeBench(model: LoadedModel, prompts: readonly BenchPrompt[], opts: BenchOptions): Promise<BenchReport> {
  if (opts.costCurve !== "learned") await prepareCostCurve(model.lm); // outside every timed run
  const cost = await verifyCostModel(model.lm);
  const makeDrafters = () => new Map(opts.drafters.map((d) => [d, opts.makeDrafter(d)]));
  const dispose = (ds: Map<string, Drafter>) => {
    for (const d of ds.values()) (d as Partial<ManagedDrafter>).dispose?.();
  };
  const repeats = Math.max(1, opts.repeats ?? 1);
  /** One accumulator map per repeat: workload -> config -> sums. */
  const passes: Map<string, Map<string, Acc>>[] = [];
  const add = (acc: Map<string, Map<string, Acc>>, workload: string, config: string, a: Omit<Acc, "mismatches">, mismatch: boolean) => {
    for (const w of [workload, "all"]) {
      const byConfig = acc.get(w) ?? new Map<string, Acc>();
      acc.set(w, byConfig);
      const cur = byConfig.get(config) ?? { tokens: 0, decodeMs: 0, steps: 0, drafterMs: 0, mismatches: 0 };
      cur.tokens += a.tokens;
      cur.decodeMs += a.decodeMs;
      cur.steps += a.steps;
      cur.drafterMs += a.drafterMs;
      cur.mismatches += mismatch ? 1 : 0;
      if (a.firstTokenMs !== undefined) cur.firstTokenMs = (cur.firstTokenMs ?? 0) + a.firstTokenMs;
      if (a.stepMs) {
        cur.stepMs ??= {};
        for (const [k, v] of Object.entries(a.stepMs)) cur.stepMs[k] = (cur.stepMs[k] ?? 0) + v;
      }
      byConfig.set(config, cur);
    }
  };
  // Warm-up (untimed): JIT, wasm and allocator warm for every config before the first timed run.
  if (prompts[0]) {
    await generate(model, prompts[0].prompt, { maxTokens: 8 });
    const warm = makeDrafters();
    for (const d of warm.values()) await generate(model, prompts[0].prompt, { maxTokens: 8, drafter: d });
    dispose(warm);
    if (opts.peer) await opts.peer.run(prompts[0]);
  }
  for (let rep = 0; rep < repeats; rep++) {
    const drafters = makeDrafters();
    const acc = new Map<string, Map<string, Acc>>();
    passes.push(acc);
    for (const [i, p] of prompts.entries()) {
      // stopAtEos false: every config generates exactly maxTokens, so time compares like with like.
      const plain = await generate(model, p.prompt, { maxTokens: opts.maxTokens, stopAtEos: false });
      add(acc, p.workload, "plain", { tokens: plain.tokens.length, decodeMs: plain.stats.decodeMs, steps: plain.stats.steps, drafterMs: 0, stepMs: plain.stats.stepMs, firstTokenMs: plain.stats.prefillMs }, false);
      const line = [`${repeats > 1 ? `pass ${rep + 1}/${repeats} ` : ""}${i + 1}/${prompts.length} ${p.id}: plain ${plain.stats.tokensPerSecond} tok/s`];
      const same = (tokens: readonly number[]) => tokens.length === plain.tokens.length && tokens.every((t, k) => t === plain.tokens[k]);
      for (const [name, drafter] of drafters) {
        const r = await generate(model, p.prompt, { maxTokens: opts.maxTokens, stopAtEos: false, drafter });
        const ok = same(r.tokens);
        add(acc, p.workload, name, { tokens: r.tokens.length, decodeMs: r.stats.decodeMs, steps: r.stats.steps, drafterMs: r.stats.drafterMs, stepMs: r.stats.stepMs, firstTokenMs: r.stats.prefillMs }, !ok);
        line.push(`${name} ${r.stats.tokensPerSecond} tok/s MAL ${r.stats.meanAcceptedLength}${ok ? "" : " MISMATCH"}`);
      }
      if (opts.peer) {
        const r = await opts.peer.run(p);
        // The peer's first token comes with its prefill: its decode covers the tokens after it.
        add(acc, p.workload, opts.peer.name, { tokens: r.tokens.length, decodeMs: r.decodeMs, steps: 0, drafterMs: 0, ...(r.firstTokenMs !== undefined ? { firstTokenMs: r.firstTokenMs } : {}) }, !same(r.tokens));
        line.push(`${opts.peer.name} ${r2(((r.tokens.length - 1) / r.decodeMs) * 1000)} tok/s`);
      }
      opts.onProgress?.(line.join(" | "));
    }
    dispose(drafters);
  }
  const results: BenchReport["results"] = {};
  for (const [w, byConfig] of passes[0]!) {
    results[w] = {};
    for (const config of byConfig.keys()) {
      const per = passes.map((acc) => acc.get(w)!.get(config)!);
      const plain = passes.map((acc) => acc.get(w)!.get("plain")!);
      // Every config emits its first token with the prefill: decode rates count the tokens after it.
      const tps = per.map((a) => ((a.tokens - countPrompts(prompts, w)) / a.decodeMs) * 1000);
      const speedups = per.map((a, k) => plain[k]!.decodeMs / a.decodeMs);
      const total = per.reduce((s, a) => ({ tokens: s.tokens + a.tokens, decodeMs: s.decodeMs + a.decodeMs, steps: s.steps + a.steps, drafterMs: s.drafterMs + a.drafterMs, mismatches: s.mismatches + a.mismatches }));
      const stepMs = per.every((a) => a.stepMs) ? Object.fromEntries(STEP_PARTS.map((k) => [k, per.reduce((t, a) => t + (a.stepMs![k] ?? 0), 0)])) : undefined;
      const firstToken = per.every((a) => a.firstTokenMs !== undefined) ? median(per.map((a) => a.firstTokenMs! / countPrompts(prompts, w))) : undefined;
      results[w]![config] = {
        tokens: total.tokens,
        decodeMs: r2(total.decodeMs),
        tokensPerSecond: r2(median(tps)),
        tokensPerSecondRange: [r2(Math.min(...tps)), r2(Math.max(...tps))],
        steps: total.steps,
        // Each step emits accepted + 1; the prefill's token is not a step.
        meanAcceptedLength: r2(total.steps ? (total.tokens - repeats * countPrompts(prompts, w)) / total.steps : 0),
        drafterShare: r2((total.drafterMs / total.decodeMs) * 100) / 100,
        speedup: r2(median(speedups)),
        speedupRange: [r2(Math.min(...speedups)), r2(Math.max(...speedups))],
        mismatches: total.mismatches,
        ...(stepMs ? { stepShare: Object.fromEntries(STEP_PARTS.map((k) => [k, r2((stepMs[k]! / total.decodeMs) * 1000) / 1000])) } : {}),
        ...(firstToken !== undefined ? { firstTokenMs: r2(firstToken) } : {}),
      };
    }
  }
  const workloads = Object.keys(results).filter((w) => w !== "all");
  const meanSpeedup: Record<string, number> = {};
  for (const d of [...opts.drafters, ...(opts.peer ? [opts.peer.name] : [])]) meanSpeedup[d] = r2(workloads.reduce((s, w) => s + results[w]![d]!.speedup, 0) / workloads.length);
  return { model: { backend: model.lm.info.backend, dtype: model.lm.info.dtype, ...(model.lm.info.threads ? { threads: model.lm.info.threads } : {}), dir: model.dir }, maxTokens: opts.maxTokens, prompts: prompts.length, repeats, verifyCost: cost.summary(), results, meanSpeedup };
}

function countPrompts(prompts: readonly BenchPrompt[], workload: string): number {
  return workload === "all" ? prompts.length : prompts.filter((p) => p.workload === workload).length;
}

/** The report as a markdown table: one row per workload, columns per config (speedup: median and range over repeats). */
export function benchMarkdown(r: BenchReport): string {
  const configs = Object.keys(r.results.all ?? {});
  const others = configs.filter((c) => c !== "plain");
  const range = (x: [number, number]) => (r.repeats > 1 ? ` (${x[0]}–${x[1]})` : "");
  const head = ["workload", "plain tok/s", ...others.flatMap((d) => [`${d} tok/s`, `${d} speedup`, ...(r.results.all![d]!.steps ? [`${d} MAL`] : [])])];
  const order = [...Object.keys(r.results).filter((w) => w !== "all"), "all"];
  const rows = order.map((w) => [w, r.results[w]!] as const).map(([w, cells]) => [
    w,
    String(cells.plain!.tokensPerSecond),
    ...others.flatMap((d) => [String(cells[d]!.tokensPerSecond), `${cells[d]!.speedup}x${range(cells[d]!.speedupRange)}`, ...(r.results.all![d]!.steps ? [String(cells[d]!.meanAcceptedLength)] : [])]),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Where decode time goes per config (all workloads): shares of stats.stepMs, as a markdown table. */
export function stepMarkdown(r: BenchReport): string {
  const all = r.results.all ?? {};
  const configs = Object.keys(all).filter((c) => all[c]!.stepShare);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const head = ["config", ...STEP_PARTS];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...configs.map((c) => line([c, ...STEP_PARTS.map((k) => pct(all[c]!.stepShare![k] ?? 0))]))].join("\n");
}
