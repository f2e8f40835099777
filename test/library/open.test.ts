/**
 * The library front door in-process (src/library.ts via the Bun entry): speculative output equals
 * plain decoding's, streams are the same text in pieces, calls queue in order, a stream left early
 * or a signal aborted on a timer stops its generation, one aborted before the call does no model
 * work, and a closed LM refuses work (not_ready, whichever way the work comes).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { statSync } from "node:fs";
import { edgespecApp, open, type ProgressEvent } from "../../adapters/bun/index.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import type { LanguageModel } from "../../src/model/causal-lm.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";

/** Counts `inner`'s forwards, whichever entry runs them; `restore` puts the model back. */
function countForwards(inner: LanguageModel): { calls: () => number; restore: () => void } {
  let calls = 0;
  const saved = { forward: inner.forward, forwardTop: inner.forwardTop, forwardLast: inner.forwardLast };
  inner.forward = (...a) => (calls++, saved.forward.apply(inner, a));
  if (saved.forwardTop) inner.forwardTop = (...a) => (calls++, saved.forwardTop!.apply(inner, a));
  if (saved.forwardLast) inner.forwardLast = (...a) => (calls++, saved.forwardLast!.apply(inner, a));
  return { calls: () => calls, restore: () => Object.assign(inner, saved) };
}

const lm = await open({ model: MODEL_DIR, device: "wasm", dtype: "fp32" });
afterAll(() => lm.close());

describe("open()", () => {
  test("generate and stream give plain decoding's greedy text; chat uses the template", async () => {
    const plain = await generatePlain(await referenceModel("fp32"), "def add(a, b):", { maxTokens: 24, stopAtEos: false });
    const r = await lm.generate("def add(a, b):", { maxTokens: 24, stopAtEos: false });
    expect(r.tokens).toEqual(plain.tokens);
    expect(r.stats.drafter).toBe("hybrid");
    expect(lm.stats).toMatchObject({ generations: 1, tokens: r.stats.tokens, last: r.stats });
    expect(lm.stats.meanAcceptedLength).toBeCloseTo(r.stats.meanAcceptedLength, 1);
    // The same decode speed as the generation's own (it was tokens over prefill + decode time).
    expect(Math.abs(lm.stats.tokensPerSecond - r.stats.tokensPerSecond)).toBeLessThan(0.5 + r.stats.tokensPerSecond * 0.005);
    const pieces: string[] = [];
    for await (const t of lm.stream("def add(a, b):", { maxTokens: 24, stopAtEos: false })) pieces.push(t);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe(plain.text);
    const chat = await lm.chat([{ role: "user", content: "hello" }], { maxTokens: 4 });
    expect(chat.stats.promptTokens).toBeGreaterThan(3);
    expect(lm.stats.generations).toBe(3);
    expect(lm.stats.last).toBe(chat.stats);
  });

  test("edgespecApp(lm) mounted under a prefix serves the LM: the same greedy text, one queue with lm.generate", async () => {
    const parent = new Hono();
    parent.route("/llm", edgespecApp(lm));
    const models = await (await parent.request("/llm/v1/models")).json();
    expect(models.data[0].edgespec.drafters).toEqual(["none", "hybrid"]);
    const body = { model: models.data[0].id, prompt: "def add(a, b):", max_tokens: 24, temperature: 0, ignore_eos: true };
    const post = () => parent.request("/llm/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    // Both at once: the app's request waits for the LM's own call (one session, one queue).
    const [res, direct] = await Promise.all([post(), lm.generate("def add(a, b):", { maxTokens: 24, stopAtEos: false })]);
    expect(res.status).toBe(200);
    const served = await res.json();
    expect(served.choices[0].text).toBe(direct.text);
    expect(served.timings.draft_n).toBeGreaterThan(0); // the LM's drafter (hybrid) by default
    expect(lm.stats.generations).toBe(5); // the app's request counts too
    expect((await parent.request("/llm/health")).status).toBe(200);
  });

  test("load progress comes as data: bytes read of the total, the session, then ready", async () => {
    const events: ProgressEvent[] = [];
    const other = await open({ model: MODEL_DIR, device: "wasm", dtype: "fp32", drafter: "none", onProgress: (e) => events.push(e) });
    await other.close();
    const phases = events.map((e) => e.phase).filter((p) => p !== "note");
    expect(phases).toEqual(["read", "session", "ready"]);
    const read = events.find((e) => e.phase === "read")!;
    const size = statSync(`${MODEL_DIR}/onnx/model.onnx`).size;
    expect(read.file!.endsWith("model.onnx")).toBe(true);
    expect(read.loadedBytes).toBe(size);
    expect(read.totalBytes).toBe(size);
    for (const e of events) expect(e.message.length).toBeGreaterThan(0);
  });

  test("calls on one LM run one at a time, in call order", async () => {
    const order: string[] = [];
    await Promise.all(["a", "b", "c"].map((p) => lm.generate(`# ${p}\n`, { maxTokens: 3 }).then(() => order.push(p))));
    expect(order).toEqual(["a", "b", "c"]);
  });

  test("leaving a stream early stops the generation; the LM serves the next call", async () => {
    const plainLm = await open({ model: MODEL_DIR, device: "wasm", drafter: "none" });
    // Count the model's forwards, whichever entry runs them (greedy steps read ids: forwardTop):
    // plain decoding of 200 tokens would take 200 of them.
    const inner = plainLm.model.lm;
    let calls = 0;
    const forward = inner.forward.bind(inner);
    inner.forward = (...a) => (calls++, forward(...a));
    const top = inner.forwardTop?.bind(inner);
    if (top) inner.forwardTop = (...a) => (calls++, top(...a));
    const last = inner.forwardLast?.bind(inner);
    if (last) inner.forwardLast = (...a) => (calls++, last(...a));
    let n = 0;
    for await (const _ of plainLm.stream("def f(x):", { maxTokens: 200, stopAtEos: false })) if (++n === 2) break;
    const next = await plainLm.generate("def g(y):", { maxTokens: 5, stopAtEos: false });
    expect(next.tokens.length).toBe(5);
    // The stream's few steps and the next call's 5 forwards, not the stream's 200.
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(calls).toBeLessThan(30);
    await plainLm.close();
  });

  test("an abort on a timer (AbortSignal.timeout, setTimeout) stops a generation: the loop lets timers in", async () => {
    const timed = await lm.generate("def f(x):", { maxTokens: 600, stopAtEos: false, signal: AbortSignal.timeout(30) });
    expect(timed.finishReason).toBe("abort");
    expect(timed.tokens.length).toBeLessThan(600);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const manual = await lm.generate("def g(y):", { maxTokens: 600, stopAtEos: false, signal: controller.signal });
    expect(manual.finishReason).toBe("abort");
    expect(manual.tokens.length).toBeLessThan(600);
    // The LM serves the next call in full.
    expect((await lm.generate("def h(z):", { maxTokens: 5, stopAtEos: false })).tokens.length).toBe(5);
  });

  test("a signal aborted before the call: no model work at all, finishReason abort and no tokens (generate, stream, chat, plain)", async () => {
    const reference = await referenceModel("fp32");
    const counters = [countForwards(lm.model.lm), countForwards(reference.lm)];
    try {
      const signal = AbortSignal.abort();
      const r = await lm.generate("def f(x):", { maxTokens: 50, stopAtEos: false, signal });
      expect([r.finishReason, r.tokens, r.text, r.stats.tokens, r.stats.steps]).toEqual(["abort", [], "", 0, 0]);
      const pieces: string[] = [];
      for await (const t of lm.stream("def f(x):", { maxTokens: 50, signal })) pieces.push(t);
      expect(pieces).toEqual([]);
      const chat = await lm.chat([{ role: "user", content: "hello" }], { maxTokens: 50, signal });
      expect([chat.finishReason, chat.tokens]).toEqual(["abort", []]);
      const plain = await generatePlain(reference, "def f(x):", { maxTokens: 50, signal });
      expect([plain.finishReason, plain.tokens]).toEqual(["abort", []]);
      expect(counters.map((c) => c.calls())).toEqual([0, 0]); // not even the prefill
    } finally {
      for (const c of counters) c.restore();
    }
    // The LM serves the next call in full.
    expect((await lm.generate("def h(z):", { maxTokens: 5, stopAtEos: false })).tokens.length).toBe(5);
  });

  test("stop takes one string as OpenAI does; arguments a JavaScript caller can get wrong are invalid_argument errors", async () => {
    const one = await lm.generate("def f(x):\n", { maxTokens: 40, stopAtEos: false, stop: "\n" });
    const list = await lm.generate("def f(x):\n", { maxTokens: 40, stopAtEos: false, stop: ["\n"] });
    expect(one.text).toBe(list.text);
    expect(one.finishReason).toBe("stop");
    const code = (p: Promise<unknown>) => p.then(() => "resolved", (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);
    const js = lm as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect(await code(js.generate!(null))).toBe("invalid_argument: the prompt must be text or an array of token ids, got null");
    expect(await code(js.generate!("x", { stop: 5 }))).toBe("invalid_argument: stop must be a string or an array of strings, got 5");
    expect(await code(js.generate!("x", { prediction: 42 }))).toBe("invalid_argument: prediction must be text, got number");
    expect(await code(js.chat!("hi"))).toStartWith("invalid_argument: chat takes an array of messages");
    expect(await code((open as (o: unknown) => Promise<unknown>)(null))).toBe("invalid_argument: open takes an options object, got null");
  });

  test("a closed LM refuses work with a clear error", async () => {
    const other = await open({ model: MODEL_DIR, device: "wasm", drafter: "none" });
    const logged: string[] = [];
    const app = edgespecApp(other, { log: (line) => logged.push(line) });
    await other.close();
    await expect(other.generate("x")).rejects.toThrow(/closed/);
    // One answer (not_ready: a state, not a wrong argument), whichever way the work comes.
    const refusal = (p: Promise<unknown>) => p.then(() => "resolved", (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);
    const closed = "not_ready: this LM is closed";
    expect(await refusal(other.generate("x"))).toBe(closed);
    expect(await refusal(other.chat([{ role: "user", content: "x" }]))).toBe(closed);
    expect(await refusal((async () => { for await (const _ of other.stream("x")); })())).toBe(closed);
    const job = { ids: [1, 2], maxTokens: 2, temperature: 0, topP: 1, topK: 0, penalties: { presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1, minP: 0 }, stop: [], stopAtEos: true, budget: 0 };
    expect(await refusal(other.runner.run(job, new AbortController().signal))).toBe(closed);
    // Its app answers 503 with the same words.
    const model = (await (await app.request("/v1/models")).json()).data[0].id;
    const res = await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, prompt: "x", max_tokens: 2 }) });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({ code: "model_not_ready", message: "this LM is closed" });
    // A known state, not a fault: nothing logged as an internal error.
    expect(logged).toEqual([]);
  });
});
