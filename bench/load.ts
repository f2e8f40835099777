/**
 * Load test of `edgespec serve` on loopback: starts the server in a child process (so its memory is
 * measured alone), keeps its queue full for a bounded time with a mix of completions and chat,
 * streamed and not, and reports requests served, failures (target 0), p50/p95/max latency,
 * throughput, the server's resident memory at start and end (target: growth under 5%), and the
 * latency of GET /health probed every 100 ms throughout (target: p99 under 50 ms).
 * Not a test: figures depend on the machine and its load.
 *
 *   bun bench/load.ts [--seconds 600] [--max-queue 4] [--max-tokens 64] [--runtime bun|deno|node]
 *                     [--drafter none] [--model edgespec-tiny] [--prompt-chars N] [--in-process] [--out FILE]
 *
 * --prompt-chars N: prompts are N-character windows of tools/*.py (long prompts: long prefills)
 * instead of the five short ones. --in-process: the server runs the model on its own thread (serve
 * --in-process) instead of in a worker, for comparison.
 *
 * Clients = max-queue + 1: one request generating and the queue full, never over it (a 429 here
 * counts as a failure). Memory (RSS from /proc) is taken after a warm-up under the same load
 * (10% of the time, at most 60 s: heaps and allocator pools grow to their working size first) and
 * at the end; the peak is sampled every second.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    seconds: { type: "string", default: "600" },
    "max-queue": { type: "string", default: "4" },
    "max-tokens": { type: "string", default: "64" },
    runtime: { type: "string", default: "bun" },
    drafter: { type: "string", default: "none" },
    model: { type: "string", default: "edgespec-tiny" },
    "prompt-chars": { type: "string", default: "0" },
    "in-process": { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const SECONDS = Number(a.seconds);
const QUEUE = Number(a["max-queue"]);
const MAX_TOKENS = Number(a["max-tokens"]);
if (!(SECONDS > 0 && Number.isInteger(QUEUE) && QUEUE >= 0 && Number.isInteger(MAX_TOKENS) && MAX_TOKENS > 0)) {
  console.error("load: --seconds > 0, --max-queue >= 0 and --max-tokens >= 1 (integers) are required");
  process.exit(2);
}
const ROOT = new URL("..", import.meta.url).pathname;
const COMMANDS: Record<string, string[]> = {
  bun: [`${ROOT}node_modules/.bin/bun`, `${ROOT}adapters/bun/serve.ts`],
  deno: [`${ROOT}node_modules/.bin/deno`, "run", "-A", `${ROOT}adapters/deno/serve.ts`],
  node: ["node", `${ROOT}dist/edgespec-node-serve.mjs`], // bun build adapters/node/serve.ts first (see test/server/runtimes.test.ts)
};
const cmd = COMMANDS[a.runtime!];
if (!cmd) {
  console.error(`load: unknown runtime ${a.runtime} (bun, deno, node)`);
  process.exit(2);
}

// Loopback only, any free port.
const server = Bun.spawn([...cmd, "--host", "127.0.0.1", "--port", "0", "--device", "wasm", "--max-queue", String(QUEUE), "--drafter", a.drafter!, "--deadline", "0", "--model", a.model!, ...(a["in-process"] ? ["--in-process"] : [])], {
  stdout: "ignore",
  stderr: "pipe",
  env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" },
});
// Never leave the server behind, whatever ends this script.
process.on("exit", () => server.kill());
let log = "";
const reader = server.stderr.getReader();
while (!/edgespec: ready/.test(log)) {
  const { done, value } = await reader.read();
  if (done) throw new Error(`server exited:\n${log}`);
  log += new TextDecoder().decode(value);
}
void (async () => {
  while (!(await reader.read()).done);
})();
const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1];
const base = `http://127.0.0.1:${port}`;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const PROMPT_CHARS = Number(a["prompt-chars"]);
const CORPUS = ["build_corpus.py", "export_model.py", "llama.py", "train_model.py"].map((f) => readFileSync(`${ROOT}tools/${f}`, "utf8")).join("\n\n");
const PROMPTS = PROMPT_CHARS > 0
  ? Array.from({ length: 5 }, (_, i) => CORPUS.slice(i * 997, i * 997 + PROMPT_CHARS))
  : ["def fibonacci(n):", "import os\n\ndef read_config(path):\n", "interface Options {\n  /** Whether to", "The quick brown fox", "for (let i = 0; i < items.length; i++) {\n"];
const MODEL_ID: string = (await (await fetch(`${base}/v1/models`)).json()).data[0].id;

interface Outcome {
  ok: boolean;
  ms: number;
  tokens: number;
  why?: string;
}

async function one(i: number): Promise<Outcome> {
  const chat = i % 2 === 1;
  const stream = i % 3 === 0;
  const prompt = PROMPTS[i % PROMPTS.length]!;
  const body = {
    model: MODEL_ID,
    max_tokens: MAX_TOKENS,
    temperature: i % 4 === 0 ? 0.8 : 0,
    seed: i,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    ...(chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
  };
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}/v1/${chat ? "chat/completions" : "completions"}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (res.status !== 200) return { ok: false, ms: performance.now() - t0, tokens: 0, why: `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}` };
    if (!stream) {
      const j = await res.json();
      return { ok: true, ms: performance.now() - t0, tokens: j.usage.completion_tokens };
    }
    const text = await res.text();
    if (!text.endsWith("data: [DONE]\n\n")) return { ok: false, ms: performance.now() - t0, tokens: 0, why: `stream without [DONE]: ${text.slice(-200)}` };
    const usage = text.split("\n\n").map((e) => e.slice(6)).filter((e) => e.startsWith("{")).map((e) => JSON.parse(e)).find((c) => c.usage);
    return { ok: true, ms: performance.now() - t0, tokens: usage?.usage.completion_tokens ?? 0 };
  } catch (e) {
    return { ok: false, ms: performance.now() - t0, tokens: 0, why: String(e) };
  }
}

const outcomes: Outcome[] = [];
const failures: string[] = [];
let counter = 0;
/** Keeps max-queue + 1 requests in flight until `until`; records outcomes when `record`. */
async function load(until: number, record: boolean): Promise<void> {
  await Promise.all(
    Array.from({ length: QUEUE + 1 }, async () => {
      while (performance.now() < until) {
        const o = await one(counter++);
        if (!record) continue;
        outcomes.push(o);
        if (!o.ok && failures.length < 10) failures.push(o.why ?? "unknown");
      }
    }),
  );
}
await load(performance.now() + Math.min(60, SECONDS * 0.1) * 1000, false);
const rssStart = rssMiB(server.pid);
const t0 = performance.now();
const clients = load(t0 + SECONDS * 1000, true);
// /health answered while the queue is full: what a load balancer's probe sees.
const health: number[] = [];
let probing = true;
const probe = (async () => {
  while (probing) {
    const h0 = performance.now();
    await (await fetch(`${base}/health`)).text();
    health.push(performance.now() - h0);
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const peak = { rss: rssStart };
const sampler = setInterval(() => (peak.rss = Math.max(peak.rss, rssMiB(server.pid))), 1000);
await clients;
probing = false;
await probe;
clearInterval(sampler);
const wall = (performance.now() - t0) / 1000;
const rssEnd = rssMiB(server.pid);
const metrics = await (await fetch(`${base}/metrics`)).text();
server.kill("SIGTERM");
await server.exited;

const lat = outcomes.filter((o) => o.ok).map((o) => o.ms).sort((x, y) => x - y);
const pct = (p: number) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!) : NaN);
const tokens = outcomes.reduce((s, o) => s + o.tokens, 0);
health.sort((x, y) => x - y);
const hpct = (p: number) => Math.round(health[Math.min(health.length - 1, Math.floor((p / 100) * health.length))]! * 10) / 10;
const summary = {
  runtime: a.runtime,
  seconds: Math.round(wall),
  clients: QUEUE + 1,
  maxQueue: QUEUE,
  maxTokens: MAX_TOKENS,
  drafter: a.drafter,
  served: outcomes.filter((o) => o.ok).length,
  failures: outcomes.filter((o) => !o.ok).length,
  model: MODEL_ID,
  promptChars: PROMPT_CHARS || "short",
  modelThread: a["in-process"] ? "server thread" : "worker",
  latencyMs: { p50: pct(50), p95: pct(95), max: Math.round(lat.at(-1) ?? NaN) },
  healthMs: { probes: health.length, p50: hpct(50), p99: hpct(99), max: hpct(100) },
  requestsPerSecond: Math.round((lat.length / wall) * 100) / 100,
  tokensPerSecond: Math.round((tokens / wall) * 10) / 10,
  rssMiB: { start: Math.round(rssStart), end: Math.round(rssEnd), peak: Math.round(peak.rss), growthPercent: Math.round(((rssEnd - rssStart) / rssStart) * 1000) / 10 },
  serverCounters: {
    generations: Number(/^edgespec_generations_total (\S+)/m.exec(metrics)?.[1]),
    rejected: Number(/^edgespec_requests_rejected_total\{reason="queue_full"\} (\S+)/m.exec(metrics)?.[1] ?? 0),
  },
  failureSamples: failures,
};
console.log(JSON.stringify(summary, null, 2));
if (a.out) writeFileSync(a.out, `${JSON.stringify(summary, null, 2)}\n`);
process.exit(summary.failures === 0 ? 0 : 1);
