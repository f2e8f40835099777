/**
 * Modeled speedup: drafters and tree sizing judged on a FIXED verify cost curve, so two versions
 * of a drafter or of the selector can be told apart by a few percent, which timed runs on a shared
 * 2-core machine cannot do (their spread is 10-20%).
 *
 * Greedy output does not depend on timing, and with a curve that ignores real timings neither do
 * the trees: the tokens fed at every step are a function of the prompt alone. A run's modeled
 * decode time is then the sum over its steps of cost(tokens fed), and plain decoding's is
 * (tokens - 1) x cost(1) (its first token comes with the prefill). The ratio is what the timed
 * bench would measure if the curve were exact; bench/speculative.ts stays the judge of real speed.
 *
 *   bun bench/modeled.ts [--model DIR] [--curve FILE | --device wasm|cpu --threads N [--save-curve FILE]] [--select-curve FILE]
 *                        [--drafters hybrid,sam] [--limit N] [--max-tokens 128] [--rates] [--options JSON]
 *                        [--fresh] [--recycle-state FILE | --cold-table] [--gaps] [--corpus PATH | --no-draft-corpus]
 *
 * --curve takes a JSON list of {tokens, ms} (what --save-curve writes, or a bench report's
 * verifyCost); without it the curve is measured here first (9 rounds over the grid). --select-curve
 * sizes the trees with another curve than the one they are scored on (what a mis-measured curve,
 * e.g. one timed before the WASM code warmed up, costs); `--select-curve learned` sizes them on
 * the curve a one-shot run learns from its steps (VerifyCostModel.learned), here timed by the fixed
 * curve instead of the clock, one for the whole run. --rates adds, per draft source, confidence
 * class and depth, how often a candidate node was right where its parent was.
 * --options: drafter options as JSON (e.g. '{"hybrid":{"threshold":4}}'), for parameter sweeps.
 * --fresh: a fresh drafter for every prompt, as a one-shot `generate` has (default: one for the
 * run, as a server keeps it). --recycle-state FILE: the drafters' Token Recycling table starts
 * from this saved one (default: the model's warm table, if it ships one; --cold-table: empty).
 * --corpus: a static corpus (a text file, a folder or a saved .escorpus) for sam and hybrid, as `--corpus` gives the CLI;
 * without it they match the model's draft corpus where it ships one, as setUp gives it (--no-draft-corpus: none).
 *
 * "oracle selection" scores the same candidate trees as if each step had verified exactly the
 * chain of its nodes on the output's path (known only afterwards): the most a selector could make
 * of these candidates, step by step. --gaps splits the steps by the draft source and confidence
 * class of that chain's first node (none: the candidate held nothing right) and shows, per split,
 * the tokens the candidates held against those the selector kept, and tokens per ms both ways.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { type BenchPrompt, firstPerWorkload } from "../src/benchmark/speculative.ts";
import { parseFlags } from "../src/cli/args.ts";
import { createDrafter } from "../src/drafters/index.ts";
import { builtinDrafters } from "../src/drafters/registry.ts";
import { fingerprintOf } from "../src/engine/drafting.ts";
import type { Drafter, VerifyUpdate } from "../src/drafters/types.ts";
import { type CostPoint, VerifyCostModel } from "../src/engine/cost-model.ts";
import { generate } from "../src/engine/speculative.ts";
import { loadModel } from "../src/model/load.ts";
import { loadCorpus } from "../src/engine/corpus.ts";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  curve: { type: "string", help: "" },
  "select-curve": { type: "string", help: "" },
  "save-curve": { type: "string", help: "" },
  device: { type: "string", help: "" },
  threads: { type: "int", help: "" },
  drafters: { type: "string", help: "" },
  limit: { type: "int", help: "" },
  "max-tokens": { type: "int", help: "" },
  rates: { type: "boolean", help: "" },
  options: { type: "string", help: "" },
  fresh: { type: "boolean", help: "" },
  "recycle-state": { type: "string", help: "" },
  "cold-table": { type: "boolean", help: "" },
  gaps: { type: "boolean", help: "" },
  corpus: { type: "string", help: "" },
  "no-draft-corpus": { type: "boolean", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const maxTokens = (flags["max-tokens"] as number) ?? 128;
const drafters = ((flags.drafters as string) ?? "hybrid").split(",");
const all: BenchPrompt[] = JSON.parse(readFileSync(new URL("prompts.json", import.meta.url), "utf8")).prompts;
const prompts = flags.limit === undefined ? all : firstPerWorkload(all, flags.limit as number);

/** "drafter|source|class|depth" (depth 9 = 9 and deeper) -> [candidate nodes whose parent was on the output's path, of them right]. */
const RATES = new Map<string, [number, number]>();
/** A curve that real timings do not move. */
class FixedCost extends VerifyCostModel {
  override observe(): void {}
}

const model = await loadModel(bunHost, modelDir, { dtype: "fp32", device: (flags.device as "wasm" | "cpu") ?? "wasm", threads: flags.threads as number | undefined });
let points: CostPoint[];
if (flags.curve) points = JSON.parse(readFileSync(flags.curve as string, "utf8"));
else {
  points = (await VerifyCostModel.measure(model.lm, { repeats: 9 })).summary();
  if (flags["save-curve"]) writeFileSync(flags["save-curve"] as string, `${JSON.stringify(points)}\n`);
}
const curve = new FixedCost(points);
const cost = (tokens: number) => curve.cost(tokens);
/** A learned curve whose steps take the fixed curve's time, not the clock's. */
class LearnedOnFixed extends VerifyCostModel {
  override observe(tokens: number): void {
    super.observe(tokens, cost(tokens));
  }
}
const learned = flags["select-curve"] === "learned";
const selectPoints: CostPoint[] | undefined = flags["select-curve"] && !learned ? JSON.parse(readFileSync(flags["select-curve"] as string, "utf8")) : undefined;
const selectCurve = learned ? LearnedOnFixed.learned() : selectPoints ? new FixedCost(selectPoints) : curve;

/**
 * What a run's steps did: tokens fed, draft tokens accepted, how many draft tokens the whole
 * candidate tree held on the output's path, and the source and class of that path's first node.
 */
interface Trace {
  fed: number[];
  accepted: number[];
  candidateHits: number[];
  firstOnPath: string[];
}
const newTrace = (): Trace => ({ fed: [], accepted: [], candidateHits: [], firstOnPath: [] });

/**
 * The drafter, recording per verification (its observations after the prefill's) the tokens fed
 * and how deep the candidate it proposed (before the selector cut it) matched `output`: what
 * verifying the whole candidate would have accepted.
 */
function recording(d: Drafter): { drafter: Drafter; follow(output: readonly number[], trace: Trace): void } {
  let output: readonly number[] = [];
  let trace = newTrace();
  let first = true;
  let pos = 0; // output tokens emitted so far
  let hits = 0;
  let firstOnPath = "none";
  const drafter: Drafter = {
    name: d.name,
    ...(d.sourceNames ? { sourceNames: d.sourceNames } : {}),
    ...(d.candidatesPerRow ? { candidatesPerRow: d.candidatesPerRow } : {}),
    reset: (tokens) => {
      first = true;
      pos = 0;
      d.reset(tokens);
    },
    propose: (budget) => {
      const t = d.propose(budget);
      // Deepest node whose path spells the output from here (parents come before children).
      const on = new Uint8Array(t.size);
      hits = 0;
      firstOnPath = "none";
      for (let i = 0; i < t.size; i++) {
        const parent = t.parents[i]!;
        const depth = t.depths[i]!;
        const trial = parent < 0 || on[parent];
        if (trial && pos + depth - 1 < output.length) {
          const key = `${d.name}|${d.sourceNames?.[t.sources?.[i] ?? 0] ?? d.name}|${t.classes?.[i] ?? 0}|${String(Math.min(depth, 9)).padStart(2)}`;
          const c = RATES.get(key) ?? [0, 0];
          c[0]++;
          if (t.tokens[i] === output[pos + depth - 1]) c[1]++;
          RATES.set(key, c);
        }
        if (trial && t.tokens[i] === output[pos + depth - 1]) {
          if (depth === 1) firstOnPath = `${d.sourceNames?.[t.sources?.[i] ?? 0] ?? d.name} class ${t.classes?.[i] ?? 0}`;
          on[i] = 1;
          hits = Math.max(hits, depth);
        }
      }
      return t;
    },
    observe: (u: VerifyUpdate) => {
      if (!first) {
        trace.fed.push(u.verifiedTokens.length);
        trace.accepted.push(u.accepted.length - 1);
        trace.candidateHits.push(hits);
        trace.firstOnPath.push(firstOnPath);
      }
      hits = 0;
      firstOnPath = "none";
      first = false;
      pos += u.accepted.length;
      d.observe(u);
    },
  };
  return {
    drafter,
    follow(o, t) {
      output = o;
      trace = t;
    },
  };
}

interface Sums {
  plainMs: number;
  specMs: number;
  tokens: number;
  steps: number;
  fed: number;
  /** Draft tokens accepted, and what the whole candidates held (see recording). */
  accepted: number;
  candidateHits: number;
  /** Modeled time had each step verified just its candidate's chain on the output's path (which yields steps + candidateHits tokens). */
  oracleMs: number;
}
const rows = new Map<string, Map<string, Sums>>(); // workload -> drafter -> sums
/** "drafter | first node on the path's source and class" -> steps, tokens fed, draft tokens held and kept, modeled ms as run and as the oracle. */
const GAPS = new Map<string, { steps: number; fed: number; held: number; accepted: number; ms: number; oracleMs: number }>();
let mismatches = 0;
// One instance per drafter for the whole run, as a server keeps it (one pass: no prompt is met
// twice); with --fresh, one per prompt, as a one-shot run has.
const drafterOptions = flags.options ? JSON.parse(flags.options as string) : {};
const recycleState = flags["recycle-state"] ? new Uint8Array(readFileSync(flags["recycle-state"] as string)) : flags["cold-table"] ? undefined : await model.draftAssets?.recycleTable();
// As setUp gives sam and hybrid: a corpus given, else the model's draft corpus (unless --no-draft-corpus).
const corpus = flags.corpus ? await loadCorpus(bunHost, model, resolve(flags.corpus as string), { saveIndex: false }) : flags["no-draft-corpus"] ? undefined : await model.draftAssets?.draftCorpus();
const registry = builtinDrafters(); // which drafters take a corpus, as setUp decides it
const make = (n: string) =>
  createDrafter(n, {
    ...drafterOptions,
    vocabSize: model.lm.spec.vocabSize,
    tokenizerFingerprint: fingerprintOf(model),
    ...(recycleState ? { recycle: { ...drafterOptions.recycle, table: recycleState } } : {}),
    ...(corpus && registry.maker(n)?.usesCorpus ? { sam: { ...drafterOptions.sam, corpus } } : {}),
  });
let instances = new Map<string, ReturnType<typeof make>>();
let recorders = new Map<string, ReturnType<typeof recording>>();
/** New drafter instances (and their recorders) for every name. */
function freshDrafters(): void {
  for (const d of instances.values()) d.dispose();
  instances = new Map(drafters.map((n) => [n, make(n)]));
  recorders = new Map([...instances].map(([n, d]) => [n, recording(d)]));
}
freshDrafters();
for (const [i, p] of prompts.entries()) {
  if (flags.fresh && i > 0) freshDrafters();
  const plain = await generate(model, p.prompt, { maxTokens, stopAtEos: false });
  const line = [`${i + 1}/${prompts.length} ${p.id}:`];
  for (const [name, rec] of recorders) {
    const trace = newTrace();
    rec.follow(plain.tokens, trace);
    const r = await generate(model, p.prompt, { maxTokens, stopAtEos: false, drafter: rec.drafter, costModel: selectCurve });
    if (r.tokens.join() !== plain.tokens.join()) mismatches++;
    const fed = trace.fed;
    const sum = (xs: number[]) => xs.reduce((a, n) => a + n, 0);
    const s: Sums = {
      plainMs: (plain.tokens.length - 1) * cost(1),
      specMs: 0,
      tokens: r.tokens.length - 1,
      steps: fed.length,
      fed: sum(fed),
      accepted: r.stats.acceptedTokens,
      candidateHits: sum(trace.candidateHits),
      oracleMs: 0,
    };
    // Each step timed twice on the fixed curve: as verified, and as the oracle would have verified it.
    fed.forEach((n, j) => {
      const held = trace.candidateHits[j]!;
      const ms = cost(n);
      const oracleMs = cost(1 + held);
      s.specMs += ms;
      s.oracleMs += oracleMs;
      const key = `${name} | ${trace.firstOnPath[j]}`;
      const g = GAPS.get(key) ?? { steps: 0, fed: 0, held: 0, accepted: 0, ms: 0, oracleMs: 0 };
      g.steps++;
      g.fed += n;
      g.held += held;
      g.accepted += trace.accepted[j]!;
      g.ms += ms;
      g.oracleMs += oracleMs;
      GAPS.set(key, g);
    });
    for (const w of [p.workload, "all"]) {
      const byName = rows.get(w) ?? new Map<string, Sums>();
      rows.set(w, byName);
      const t = byName.get(name) ?? { plainMs: 0, specMs: 0, tokens: 0, steps: 0, fed: 0, accepted: 0, candidateHits: 0, oracleMs: 0 };
      for (const k of Object.keys(t) as (keyof Sums)[]) t[k] += s[k];
      byName.set(name, t);
    }
    line.push(`${name} ${(s.plainMs / s.specMs).toFixed(2)}x MAL ${(s.tokens / s.steps).toFixed(2)}`);
  }
  console.error(line.join(" "));
}

const f2 = (x: number) => x.toFixed(2);
console.log(`curve (ms by tokens fed): ${points.map((q) => `${q.tokens}: ${f2(q.ms)}`).join(", ")}`);
if (selectPoints || learned) console.log(`trees sized on${learned ? " a curve learned from the steps, at the end" : ""}: ${(selectPoints ?? selectCurve.points).map((q) => `${q.tokens}: ${f2(q.ms)}`).join(", ")}`);
console.log(`${prompts.length} prompts, ${maxTokens} tokens, mismatches against plain: ${mismatches}`);
// "in candidate": draft tokens per step the whole candidate held on the output's path (what the
// selector could have kept), against those it kept ("accepted").
console.log(`| workload | ${drafters.map((d) => `${d} modeled speedup | ${d} MAL | ${d} fed/step | ${d} accepted/step | ${d} in candidate/step | ${d} oracle selection`).join(" | ")} |`);
console.log(`| --- | ${drafters.map(() => "--- | --- | --- | --- | --- | ---").join(" | ")} |`);
const workloads = [...rows.keys()].filter((w) => w !== "all");
for (const w of [...workloads, "all"]) {
  const cells = drafters.map((d) => {
    const s = rows.get(w)!.get(d)!;
    return `${f2(s.plainMs / s.specMs)}x | ${f2(s.tokens / s.steps)} | ${f2(s.fed / s.steps)} | ${f2(s.accepted / s.steps)} | ${f2(s.candidateHits / s.steps)} | ${f2((((s.steps + s.candidateHits) / s.oracleMs) * s.plainMs) / s.tokens)}x`;
  });
  console.log(`| ${w} | ${cells.join(" | ")} |`);
}
for (const d of drafters) {
  const mean = workloads.reduce((a, w) => a + rows.get(w)!.get(d)!.plainMs / rows.get(w)!.get(d)!.specMs, 0) / workloads.length;
  console.log(`mean modeled speedup over workloads, ${d}: ${f2(mean)}x`);
}
for (const d of instances.values()) d.dispose();
if (flags.rates) {
  // How often a candidate node whose parent lay on the output's path was right, by source and depth.
  console.log("\n| drafter | source | class | depth | trials | right |\n| --- | --- | --- | --- | --- | --- |");
  for (const [key, [n, h]] of [...RATES].sort()) {
    const [drafter, source, confidence, depth] = key.split("|");
    console.log(`| ${drafter} | ${source} | ${confidence} | ${depth!.trim() === "9" ? "9+" : depth!.trim()} | ${n} | ${(h / n).toFixed(2)} |`);
  }
}
if (flags.gaps) {
  // Plain decoding's rate, for scale: one token per cost(1).
  console.log(`\nsteps by the first node of the candidate's right chain (plain: ${f2(1 / cost(1))} tokens/ms)`);
  console.log("| drafter | first right node | steps | draft tokens held | kept and accepted | fed/step | tokens/ms | oracle tokens/ms |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [k, g] of [...GAPS].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`| ${k} | ${g.steps} | ${g.held} | ${g.accepted} | ${f2(g.fed / g.steps)} | ${f2((g.steps + g.accepted) / g.ms)} | ${f2((g.steps + g.held) / g.oracleMs)} |`);
  }
}
