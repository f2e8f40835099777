/**
 * The model in a worker (src/server/model-worker.ts, a real worker thread): generations equal the
 * same model run in this thread, streamed text adds up to the result, an abort ends the running
 * job and the next one runs, load errors keep their code, and — the reason for the worker — the
 * server's event loop answers /health while a forward holds the worker's thread.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { listen } from "../../adapters/bun/serve.ts";
import { threadWorkerEndpoint } from "../../adapters/worker/threads.ts";
import { EdgespecError } from "../../src/errors.ts";
import type { ModelRunner, RunJob } from "../../src/server/model-runner.ts";
import { workerRunner } from "../../src/server/model-worker.ts";
import { createApp, ModelService } from "../../src/server/index.ts";
import { setUp } from "../../src/setup.ts";
import { bunHost } from "../../adapters/bun/host.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";
import { blockingView, postJson } from "./helpers.ts";

const WORKER = new URL("../../adapters/bun/model-worker.ts", import.meta.url);
const BLOCKING_WORKER = new URL("./blocking-worker.ts", import.meta.url);
const BLOCK_MS = 400; // blocking-worker.ts

const job = (ids: number[], over: Partial<RunJob> = {}): RunJob => ({ ids, maxTokens: 48, temperature: 0, topP: 1, topK: 0, penalties: { presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1, minP: 0 }, stop: [], stopAtEos: false, drafter: "hybrid", budget: "auto", ...over });
const never = new AbortController().signal;

describe("model worker", () => {
  const open: ModelRunner[] = [];
  afterAll(async () => {
    for (const r of open) await r.close();
  });

  test("greedy output equals the model run in this thread, for every drafter; streamed text adds up", async () => {
    let progress = 0;
    let kernels = "";
    const remote = await workerRunner(threadWorkerEndpoint(WORKER), { model: MODEL_DIR, dtype: "fp32", device: "wasm" }, { onProgress: () => progress++, onReady: (i) => (kernels = i.kernels) });
    open.push(remote);
    expect(progress).toBeGreaterThan(0);
    expect(kernels).toMatch(/^(wasm|ts)$/);
    const local = (await setUp(bunHost, { model: MODEL_DIR, dtype: "fp32", device: "wasm" })).runner({ yieldToEventLoop: false });
    open.push(local);
    expect(remote.facts.spec).toEqual(local.facts.spec);
    // system_fingerprint's basis crosses the worker as the model in this thread has it.
    expect(remote.facts.identity).toBe(local.facts.identity!);
    expect(JSON.parse(local.facts.identity!)).toMatchObject({ dtype: "fp32", backend: "wasm", file: "model.onnx" });
    expect(remote.facts.tokenizer.encode("def main():")).toEqual(local.facts.tokenizer.encode("def main():"));
    for (const [i, prompt] of ["def fibonacci(n):", "import os\nimport sys\n", "class Stack:\n    def push(self, x):"].entries()) {
      const ids = local.facts.tokenizer.encode(prompt);
      const drafter = ["none", "hybrid", "ngram"][i]!;
      let streamed = "";
      const a = await remote.run(job(ids, { drafter }), never, (t) => (streamed += t));
      const b = await local.run(job(ids, { drafter }), never);
      expect(a.result.tokens).toEqual(b.result.tokens);
      expect(streamed).toBe(a.result.text);
      expect(a.result.stats.drafter).toBe(b.result.stats.drafter);
      if (drafter !== "none") expect(a.steps.length).toBeGreaterThan(0);
    }
  });

  test("an abort ends the running generation at its next step; the next job runs whole", async () => {
    const remote = open[0]!; // the worker's
    const ids = remote.facts.tokenizer.encode("def parse(line):");
    const stop = new AbortController();
    let chunks = 0;
    const aborted = await remote.run(job(ids, { maxTokens: 400, drafter: "none" }), stop.signal, () => {
      if (++chunks === 3) stop.abort();
    });
    expect(aborted.result.finishReason).toBe("abort");
    expect(aborted.result.tokens.length).toBeLessThan(400);
    const whole = await remote.run(job(ids, { maxTokens: 24, drafter: "none" }), never);
    expect(whole.result.tokens.length).toBe(24);
    expect(whole.result.tokens.slice(0, aborted.result.tokens.length)).toEqual(aborted.result.tokens.slice(0, 24));
  });

  test("a load error comes back with its code", async () => {
    const e = await workerRunner(threadWorkerEndpoint(WORKER), { model: "/nowhere/model", device: "wasm" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EdgespecError);
    expect((e as EdgespecError).code).toBe("model_not_found");
  });

  test("a worker that dies: /health and requests get 503 with the reason; the server keeps answering", async () => {
    const endpoint = threadWorkerEndpoint(WORKER);
    const engine = new ModelService(workerRunner(endpoint, { model: MODEL_DIR, dtype: "fp32", device: "wasm" }), { modelId: "m" });
    await engine.ready;
    const app = createApp({ engine });
    expect((await app.request("/health")).status).toBe(200);
    endpoint.terminate!();
    for (let i = 0; i < 100 && !engine.failure; i++) await Bun.sleep(20);
    const health = await app.request("/health");
    expect(health.status).toBe(503);
    expect((await health.json()).status).toBe("error");
    const res = await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", prompt: "x", max_tokens: 2 }) });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe("model_worker_failed");
  });

  /** Sequential /health probes while a 3-token completion runs on a model whose forwards block 400 ms. */
  async function healthDuringGeneration(engine: ModelService): Promise<number[]> {
    await engine.ready;
    const app = createApp({ engine, options: { drafters: [] } });
    const server = await listen(app.fetch, { hostname: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${server.port}`;
    try {
      let done = false;
      const gen = postJson(`${url}/v1/completions`, { model: engine.id, prompt: "def f(x):", max_tokens: 3, temperature: 0 }).then(async (r) => {
        done = true;
        return r.status;
      });
      await Bun.sleep(50);
      const ms: number[] = [];
      while (!done && ms.length < 40) {
        const t0 = performance.now();
        expect((await fetch(`${url}/health`)).status).toBe(200);
        ms.push(performance.now() - t0);
        await Bun.sleep(10);
      }
      expect(await gen).toBe(200);
      return ms;
    } finally {
      await server.close();
    }
  }

  test("/health is answered while a forward holds the model's thread (and is not when that thread is the server's)", async () => {
    const inWorker = new ModelService(workerRunner(threadWorkerEndpoint(BLOCKING_WORKER), { model: MODEL_DIR, dtype: "fp32", device: "wasm" }), { modelId: "m" });
    const worker = await healthDuringGeneration(inWorker);
    await inWorker.close();
    // At least 3 forwards of 400 ms ran meanwhile; a probe that waited for one would take ~400 ms.
    expect(worker.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...worker)).toBeLessThan(BLOCK_MS / 2);
    // The control: the same blocking model on the server's thread delays the probes.
    const inThread = new ModelService(blockingView(await referenceModel("fp32"), BLOCK_MS), { modelId: "m" });
    const thread = await healthDuringGeneration(inThread);
    expect(Math.max(...thread)).toBeGreaterThan(BLOCK_MS / 2);
  });
});
