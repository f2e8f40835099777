/**
 * What drafting costs a step, without the model's noise: records a real hybrid run's drafter
 * inputs (prompts, budgets, verify updates, forward timings, cache lengths), then replays them
 * into fresh drafters, selectors and cost curves, on each kernel set, interleaved, and times each
 * part of a step. The replay's drafters see exactly the run's inputs, so their trees are the run's.
 *
 *   bun bench/drafting-replay.ts [--model DIR] [--prompts 30] [--rounds 5] [--sweep-mb 32]
 *
 * --sweep-mb: memory swept before each step (0: none). A forward streams the model's weights
 * through the caches, so in the decode loop every step starts cold; measured on edgespec-tiny
 * (2026-12-06, this 2-core machine): 29 us a step unswept, 55 with 1 MB swept, 100-135 with 16-32
 * MB, against ~180 in the timed bench; an hour later, on a slower patch, 198-234 with 32 MB. The
 * machine moves these: compare kernel sets, or code before and after, within one run. Prints
 * medians over rounds, per kernel set.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { createDrafter } from "../src/drafters/index.ts";
import { HybridDrafter } from "../src/drafters/hybrid.ts";
import type { DraftTree, VerifyUpdate } from "../src/drafters/types.ts";
import { type CostPoint, VerifyCostModel } from "../src/engine/cost-model.ts";
import { median } from "../src/engine/curve-fit.ts";
import { fingerprintOf } from "../src/engine/drafting.ts";
import { generate } from "../src/engine/speculative.ts";
import { verifyCostModel } from "../src/engine/cost-curves.ts";
import { TreeBiasBuffer } from "../src/engine/tree-bias.ts";
import { TreeSelector } from "../src/engine/tree-selector.ts";
import { type LoadedModel, loadModel } from "../src/model/load.ts";
import type { CorpusIndex } from "../src/drafters/corpus-index.ts";
import { chooseKernels } from "../src/setup.ts";

const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  prompts: { type: "int", help: "" },
  rounds: { type: "int", help: "" },
  "sweep-mb": { type: "int", help: "" },
});
const modelDir = resolve((flags.model as string) ?? bunHost.defaultModelDir());
const rounds = (flags.rounds as number) ?? 5;
const sweep = new Int32Array((((flags["sweep-mb"] as number) ?? 32) << 20) / 4);

type Event =
  | { t: "reset"; prompt: number[] }
  | { t: "propose"; budget: number }
  | { t: "bias"; past: number }
  | { t: "cost"; tokens: number; ms: number }
  | { t: "observe"; update: VerifyUpdate };

/** A real run's drafter inputs, in order (hooks on the classes' prototypes, removed after). */
async function record(): Promise<{ events: Event[]; curve: CostPoint[]; vocabSize: number; fingerprint: string } & Awaited<ReturnType<typeof assets>>> {
  const model = await loadModel(bunHost, modelDir, {});
  const all = JSON.parse(readFileSync(new URL("prompts.json", import.meta.url), "utf8")).prompts as { prompt: string }[];
  const prompts = all.slice(0, (flags.prompts as number) ?? 30);
  const kernels = await chooseKernels(bunHost, "auto");
  // The hybrid as setUp gives it: the model's warm table and its draft corpus, where it ships them.
  const shipped = await assets(model);
  const drafter = createDrafter("hybrid", { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model), kernels, ...shipped });
  await generate(model, prompts[0]!.prompt, { maxTokens: 8, drafter });
  const curve = (await verifyCostModel(model.lm)).summary();
  const events: Event[] = [];
  const hooks: [object, string, (orig: (...a: never[]) => unknown) => (...a: never[]) => unknown][] = [
    [HybridDrafter.prototype, "reset", (o) => function (this: unknown, p: ArrayLike<number>) { events.push({ t: "reset", prompt: Array.from(p) }); return o.call(this, p as never); }],
    [HybridDrafter.prototype, "propose", (o) => function (this: unknown, b: number) { events.push({ t: "propose", budget: b }); return o.call(this, b as never); }],
    [HybridDrafter.prototype, "observe", (o) => function (this: unknown, u: VerifyUpdate) { events.push({ t: "observe", update: copyUpdate(u) }); return o.call(this, u as never); }],
    [VerifyCostModel.prototype, "observe", (o) => function (this: unknown, tokens: number, ms: number) { events.push({ t: "cost", tokens, ms }); return o.call(this, tokens as never, ms as never); }],
    [TreeBiasBuffer.prototype, "build", (o) => function (this: unknown, tree: DraftTree, past: number) { events.push({ t: "bias", past }); return o.call(this, tree as never, past as never); }],
  ];
  const saved = hooks.map(([proto, name, hook]) => {
    const p = proto as Record<string, (...a: never[]) => unknown>;
    const orig = p[name]!;
    p[name] = hook(orig);
    return () => (p[name] = orig);
  });
  try {
    for (const p of prompts) await generate(model, p.prompt, { maxTokens: 128, stopAtEos: false, drafter });
  } finally {
    for (const undo of saved) undo();
  }
  await model.lm.dispose();
  return { events, curve, vocabSize: model.lm.spec.vocabSize, fingerprint: fingerprintOf(model), ...shipped };
}

async function assets(model: LoadedModel): Promise<{ recycle?: { table: Uint8Array }; sam?: { corpus: CorpusIndex } }> {
  const table = await model.draftAssets?.recycleTable();
  const corpus = await model.draftAssets?.draftCorpus();
  return { ...(table ? { recycle: { table } } : {}), ...(corpus ? { sam: { corpus } } : {}) };
}

function copyUpdate(u: VerifyUpdate): VerifyUpdate {
  return { accepted: Array.from(u.accepted), verifiedTokens: Int32Array.from(u.verifiedTokens), topK: Int32Array.from(u.topK), k: u.k, ...(u.verifiedParents ? { verifiedParents: Int32Array.from(u.verifiedParents) } : {}) };
}

/** The path `accepted` spells down `tree` (what verification would have found). */
function pathOf(tree: DraftTree, accepted: ArrayLike<number>): number[] {
  const path: number[] = [];
  let at = -1;
  for (let i = 0; i < accepted.length - 1; i++) {
    let next = -1;
    for (let j = at + 1; j < tree.size && next < 0; j++) if (tree.parents[j] === at && tree.tokens[j] === accepted[i]) next = j;
    if (next < 0) break;
    path.push(next);
    at = next;
  }
  return path;
}

const PARTS = ["propose", "select", "bias", "cost", "observe", "selector"] as const;
type Part = (typeof PARTS)[number];

const rec = await record();
const sets = { wasm: await chooseKernels(bunHost, "wasm"), ts: await chooseKernels(bunHost, "ts") };
const times: Record<string, Record<Part, number[]>> = {};
let sink = 0;
for (let round = 0; round < 2 * rounds; round++) {
  const name = (round + (round >> 1)) % 2 === 0 ? "wasm" : "ts";
  const drafter = createDrafter("hybrid", { vocabSize: rec.vocabSize, tokenizerFingerprint: rec.fingerprint, kernels: sets[name], ...(rec.recycle ? { recycle: rec.recycle } : {}), ...(rec.sam ? { sam: rec.sam } : {}) });
  const cost = new VerifyCostModel(rec.curve);
  const bias = new TreeBiasBuffer();
  const sum: Record<Part, number> = { propose: 0, select: 0, bias: 0, cost: 0, observe: 0, selector: 0 };
  let selector = new TreeSelector(cost, drafter.sourceNames?.length ?? 1);
  let selected: DraftTree | undefined;
  let steps = 0;
  const timed = (part: Part, f: () => void) => {
    const t0 = performance.now();
    f();
    sum[part] += performance.now() - t0;
  };
  for (const e of rec.events) {
    if (e.t === "reset") {
      drafter.reset(e.prompt);
      selector = new TreeSelector(cost, drafter.sourceNames?.length ?? 1);
      selected = undefined;
    } else if (e.t === "propose") {
      for (let i = 0; i < sweep.length; i += 16) sink += sweep[i]!++;
      let candidate: DraftTree | undefined;
      timed("propose", () => (candidate = drafter.propose(e.budget)));
      timed("select", () => (selected = selector.select(candidate!).tree));
      steps++;
    } else if (e.t === "bias" && selected) timed("bias", () => bias.build(selected!, e.past));
    else if (e.t === "cost") timed("cost", () => cost.observe(e.tokens, e.ms));
    else if (e.t === "observe") {
      timed("observe", () => drafter.observe(e.update));
      if (selected && e.update.verifiedParents) {
        const path = pathOf(selected, e.update.accepted);
        timed("selector", () => selector.observe(selected!, path));
      }
    }
  }
  drafter.dispose?.();
  const t = (times[name] ??= { propose: [], select: [], bias: [], cost: [], observe: [], selector: [] });
  for (const part of PARTS) t[part].push((sum[part] / steps) * 1000);
  if (round === 0) console.log(`${rec.events.filter((e) => e.t === "propose").length} steps recorded on ${modelDir}; ${sweep.length * 4 >> 20} MB swept before each step`);
}
console.log(`us per step (median of ${rounds} rounds): ${PARTS.join(", ")}, total`);
for (const [name, t] of Object.entries(times)) {
  const parts = PARTS.map((p) => median(t[p]));
  console.log(`${name.padEnd(5)} ${parts.map((x) => x.toFixed(1).padStart(6)).join(" ")} ${parts.reduce((a, b) => a + b, 0).toFixed(1).padStart(7)}`);
}
if (sink === 0.5) console.log(""); // keeps the sweep from being optimised away
