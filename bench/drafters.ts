/**
 * Drafter step cost: propose(80) + observe() per drafter, WASM vs TypeScript kernels, at context
 * lengths 1k / 8k / 32k tokens, with a 32k vocabulary; plus each drafter's state size. Not a test:
 * timings depend on the machine and its load.
 *
 *   bun bench/drafters.ts [--steps 400]
 *
 * The text is real (TypeScript's lib .d.ts files through the reference tokenizer); the "model" is
 * a stand-in that knows the true next token (rank 0 of its top-8) and accepts the longest drafted
 * path that follows the text, so trees, acceptance and table updates are realistic in size.
 * Only drafter calls are timed. Acceptance against this stand-in says nothing about a real model
 * (see bench/speculative.ts for that). Writes bench/results/drafters.json and prints a markdown table.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { createDrafter, type ManagedDrafter } from "../src/drafters/index.ts";
import { loadWasmKernels, tsKernels } from "../src/drafters/kernels/index.ts";
import type { DraftTree, VerifyUpdate } from "../src/drafters/types.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const VOCAB = 32_000;
const BUDGET = 80;
const K = 8;
const CONTEXTS = [1024, 8192, 32768];
const DRAFTERS = ["recycle", "sam", "ngram", "hybrid"] as const;
const stepsArg = process.argv.indexOf("--steps");
const STEPS = stepsArg > 0 ? Number(process.argv[stepsArg + 1]) : 400;
const WARMUP = 50;

const KERNELS = { ts: tsKernels, wasm: await loadWasmKernels(readFileSync(`${ROOT}wasm/pkg/edgespec_kernels.wasm`)) };

function corpusTokens(need: number): Int32Array {
  const tok = new Tokenizer(JSON.parse(readFileSync(`${ROOT}models/edgespec-tiny/tokenizer.json`, "utf8")), {});
  const dir = `${ROOT}node_modules/typescript/lib/`;
  const ids: number[] = [];
  for (const f of readdirSync(dir).filter((f) => /^lib\..*\.d\.ts$/.test(f)).sort()) {
    for (const id of tok.encode(readFileSync(dir + f, "utf8"), { add_special_tokens: false }).ids) ids.push(id);
    if (ids.length >= need) break;
  }
  if (ids.length < need) throw new Error(`only ${ids.length} tokens of text, need ${need}`);
  return Int32Array.from(ids.slice(0, need));
}

/** Top-8 after `token`: a fixed pseudo-random row, with the true next token at rank 0 when known. */
function fillRow(out: Int32Array, at: number, token: number, next: number): void {
  for (let j = 0; j < K; j++) out[at + j] = ((Math.imul(token + 1, 0x9e3779b1) >>> 0) + j * 40503) % VOCAB;
  if (next >= 0) out[at] = next;
}

function verify(truth: Int32Array, tree: DraftTree, pos: number): VerifyUpdate {
  const fed = [truth[pos - 1]!, ...tree.tokens];
  const next = new Int32Array(fed.length).fill(-1);
  const accepted: number[] = [];
  for (let node = -1; pos + accepted.length < truth.length; ) {
    const want = truth[pos + accepted.length]!;
    next[node + 1] = want;
    accepted.push(want);
    let child = -1;
    for (let i = 0; i < tree.size && child < 0; i++) if (tree.parents[i] === node && tree.tokens[i] === want) child = i;
    if (child < 0) break;
    node = child;
  }
  const topK = new Int32Array(fed.length * K);
  fed.forEach((t, i) => fillRow(topK, i * K, t, next[i]!));
  return { accepted, verifiedTokens: fed, topK, k: K };
}

interface Cell {
  /** reset(prompt) + the prefill observe (table seeded with a top-8 row per prompt token), once. */
  prefillMs: number;
  medianUs: number;
  p90Us: number;
  meanAccepted: number;
  meanTreeSize: number;
  memoryBytes: number;
}

function run(d: ManagedDrafter, truth: Int32Array, context: number): Cell {
  const prompt = truth.subarray(0, context);
  const topK = new Int32Array(context * K);
  for (let i = 0; i < context; i++) fillRow(topK, i * K, prompt[i]!, truth[i + 1]!);
  const p0 = performance.now();
  d.reset(prompt);
  d.observe({ accepted: [truth[context]!], verifiedTokens: prompt, topK, k: K });
  const prefillMs = performance.now() - p0;
  let pos = context + 1;
  const times: number[] = [];
  let accepted = 0;
  let nodes = 0;
  for (let step = 0; step < WARMUP + STEPS; step++) {
    const t0 = performance.now();
    const tree = d.propose(BUDGET);
    const t1 = performance.now();
    const u = verify(truth, tree, pos);
    const t2 = performance.now();
    d.observe(u);
    const t3 = performance.now();
    pos += u.accepted.length;
    if (step < WARMUP) continue;
    times.push((t1 - t0 + (t3 - t2)) * 1000);
    accepted += u.accepted.length;
    nodes += tree.size;
  }
  times.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    prefillMs: r(prefillMs),
    medianUs: r(times[times.length >> 1]!),
    p90Us: r(times[Math.floor(times.length * 0.9)]!),
    meanAccepted: r(accepted / STEPS),
    meanTreeSize: r(nodes / STEPS),
    memoryBytes: d.memoryBytes(),
  };
}

const truth = corpusTokens(CONTEXTS.at(-1)! + (WARMUP + STEPS) * 8 + 1);
// One untimed pass per drafter first, so the first measured configuration is not the JIT's warm-up.
for (const name of DRAFTERS) for (const kernels of Object.values(KERNELS)) run(createDrafter(name, { vocabSize: VOCAB, kernels }), truth, CONTEXTS[0]!);
const results: Record<string, Record<string, Record<string, Cell>>> = {};
for (const name of DRAFTERS) {
  for (const [kname, kernels] of Object.entries(KERNELS)) {
    for (const context of CONTEXTS) {
      const d = createDrafter(name, { vocabSize: VOCAB, kernels });
      const cell = run(d, truth, context);
      d.dispose();
      ((results[name] ??= {})[kname] ??= {})[String(context)] = cell;
      console.error(`${name} ${kname} ${context}: ${cell.medianUs} µs (p90 ${cell.p90Us}), ${cell.meanTreeSize} nodes, prefill ${cell.prefillMs} ms`);
    }
  }
}

const kib = (b: number) => `${Math.round(b / 1024)} KiB`;
const rows = DRAFTERS.map((name) => {
  const c = (k: string, n: number) => results[name]![k]![String(n)]!;
  const at32 = (k: string) => c(k, 32768);
  return `| ${name} | ${CONTEXTS.map((n) => `${c("wasm", n).medianUs} / ${c("ts", n).medianUs}`).join(" | ")} | ${at32("wasm").meanTreeSize} | ${at32("wasm").prefillMs} / ${at32("ts").prefillMs} | ${kib(at32("wasm").memoryBytes)} / ${kib(at32("ts").memoryBytes)} |`;
});
const md = [
  `Drafter step = propose(${BUDGET}) + observe(), median µs, WASM / TypeScript kernels; vocabulary ${VOCAB}, ${STEPS} steps after ${WARMUP} warm-up, Bun ${Bun.version}.`,
  "",
  `| drafter | ${CONTEXTS.map((n) => `${n / 1024}k ctx`).join(" | ")} | nodes/step | 32k prefill ms | state at 32k ctx (WASM / TS) |`,
  `|---|${CONTEXTS.map(() => "---|").join("")}---|---|---|`,
  ...rows,
].join("\n");
console.log(md);
mkdirSync(`${ROOT}bench/results`, { recursive: true });
writeFileSync(`${ROOT}bench/results/drafters.json`, `${JSON.stringify({ vocabSize: VOCAB, budget: BUDGET, steps: STEPS, runtime: `bun ${Bun.version}`, results }, null, 2)}\n`);
