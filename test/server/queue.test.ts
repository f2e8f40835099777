/**
 * One generation at a time: a bounded FIFO queue (429 + Retry-After beyond it), disconnects and
 * deadlines that stop a generation within a step and free the model, pings on quiet streams.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MODEL_ID, postJson, readSse, startServer, type TestServer, waitFor } from "./helpers.ts";

const QUEUE = 2;
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ pingMs: 100 }, { maxQueue: QUEUE });
});
afterAll(() => server.close());

/** A generation that runs for seconds: ignore_eos keeps it going whatever the model writes. */
const LONG = { model: MODEL_ID, prompt: "import os\n", max_tokens: 900, temperature: 0, ignore_eos: true, stream: true };
const SHORT = { model: MODEL_ID, prompt: "def f(x):", max_tokens: 4, temperature: 0 };

async function startBlocker(): Promise<{ controller: AbortController; res: Response }> {
  const controller = new AbortController();
  const res = await postJson(`${server.url}/v1/completions`, LONG, { signal: controller.signal });
  expect(res.status).toBe(200);
  await waitFor(async () => (await server.metric("edgespec_requests_running")) === 1);
  return { controller, res };
}

describe("queue and aborts", () => {
  test(`queue of ${QUEUE}: ${QUEUE + 1} concurrent requests behind a running one -> exactly one 429, the rest succeed`, async () => {
    const blocker = await startBlocker();
    const rejectedBefore = await server.metric("edgespec_requests_rejected_total", { reason: "queue_full" });
    const pending = Array.from({ length: QUEUE + 1 }, () => postJson(`${server.url}/v1/completions`, SHORT));
    // The refusal is immediate, while the blocker still runs.
    const first = await Promise.race(pending.map((p, i) => p.then((r) => ({ r, i }))));
    expect(first.r.status).toBe(429);
    const retryAfter = Number(first.r.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    const body = await first.r.json();
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.code).toBe("queue_full");
    expect(await server.metric("edgespec_requests_queued")).toBe(QUEUE);
    blocker.controller.abort();
    const all = await Promise.all(pending);
    expect(all.map((r) => r.status).sort()).toEqual([...Array(QUEUE).fill(200), 429]);
    for (const r of all) {
      if (r.status !== 200) continue;
      const done = await r.json();
      expect(["stop", "length"]).toContain(done.choices[0].finish_reason);
      expect(done.usage.completion_tokens).toBeGreaterThan(0);
    }
    expect(await server.metric("edgespec_requests_rejected_total", { reason: "queue_full" })).toBe(rejectedBefore + 1);
    await waitFor(async () => (await server.metric("edgespec_requests_queued")) === 0);
  });

  test("disconnect mid-stream: the generation stops within a step and the next request starts at once", async () => {
    const abortedBefore = await server.metric("edgespec_requests_aborted_total", { reason: "disconnect" });
    const tokensBefore = await server.metric("edgespec_generation_tokens_total");
    const controller = new AbortController();
    const res = await postJson(`${server.url}/v1/completions`, LONG, { signal: controller.signal });
    const { events } = await readSse(res, (ev) => ev.length >= 5);
    expect(events.length).toBeGreaterThanOrEqual(5);
    controller.abort();
    const freedIn = await waitFor(async () => (await server.metric("edgespec_requests_running")) === 0);
    // One decoding step of this model is ~10 ms; a generous bound for a loaded 2-core machine.
    expect(freedIn).toBeLessThan(1000);
    const t0 = performance.now();
    const next = await postJson(`${server.url}/v1/completions`, SHORT);
    expect(next.status).toBe(200);
    expect((await next.json()).usage.completion_tokens).toBe(4);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await server.metric("edgespec_requests_aborted_total", { reason: "disconnect" })).toBe(abortedBefore + 1);
    // The aborted generation stopped far short of its 900 tokens.
    expect((await server.metric("edgespec_generation_tokens_total")) - tokensBefore - 4).toBeLessThan(600);
  });

  test("disconnect of a non-streamed request frees the model too, and is counted as 499 (as one that leaves the queue)", async () => {
    const closed = { route: "/v1/completions", status: "499" };
    const before = await server.metric("edgespec_http_requests_total", closed);
    const controller = new AbortController();
    const p = postJson(`${server.url}/v1/completions`, { ...LONG, stream: false }, { signal: controller.signal }).catch((e) => e);
    await waitFor(async () => (await server.metric("edgespec_requests_running")) === 1);
    controller.abort();
    await p;
    await waitFor(async () => (await server.metric("edgespec_requests_running")) === 0, 2000);
    // The generation stopped at the disconnect: nobody reads its partial answer, so not a 200.
    await waitFor(async () => (await server.metric("edgespec_http_requests_total", closed)) === before + 1, 2000);
  });

  test("a client that leaves the queue is removed from it", async () => {
    const blocker = await startBlocker();
    const controller = new AbortController();
    const waiting = postJson(`${server.url}/v1/completions`, SHORT, { signal: controller.signal }).catch((e) => e);
    await waitFor(async () => (await server.metric("edgespec_requests_queued")) === 1);
    controller.abort();
    await waiting;
    await waitFor(async () => (await server.metric("edgespec_requests_queued")) === 0, 2000);
    blocker.controller.abort();
    await waitFor(async () => (await server.metric("edgespec_requests_running")) === 0);
  });

  // A batch holding the model for all its prompts made every other request wait for up to
  // maxPrompts generations; each prompt now takes its own turn.
  for (const stream of [false, true]) {
    test(`a batch takes its turn per prompt: a one-prompt request sent while it runs finishes first (stream: ${stream})`, async () => {
      const prompts = ["import os\n", "import sys\n", "import re\n"];
      const batch = { model: MODEL_ID, prompt: prompts, max_tokens: 200, temperature: 0, ignore_eos: true, stream, stream_options: stream ? { include_usage: true } : undefined };
      const finished: string[] = [];
      const running = postJson(`${server.url}/v1/completions`, batch).then(async (r) => {
        const body = stream ? (await readSse(r)).events : await r.json();
        finished.push("batch");
        return { status: r.status, body };
      });
      await waitFor(async () => (await server.metric("edgespec_requests_running")) === 1);
      const single = postJson(`${server.url}/v1/completions`, SHORT).then(async (r) => {
        const body = await r.json();
        finished.push("single");
        return { status: r.status, body };
      });
      const [b, one] = await Promise.all([running, single]);
      expect(one.status).toBe(200);
      expect(one.body.usage.completion_tokens).toBe(4);
      expect(b.status).toBe(200);
      expect(finished).toEqual(["single", "batch"]);
      // The batch's answer is as before: one choice per prompt, in order, usage summed.
      if (stream) {
        const chunks = (b.body as string[]).filter((e) => e !== "[DONE]").map((e) => JSON.parse(e));
        const finishes = chunks.flatMap((c) => c.choices).filter((c: { finish_reason: string | null }) => c.finish_reason !== null);
        expect(finishes.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
        expect(chunks.find((c) => c.usage).usage.completion_tokens).toBe(600);
      } else {
        expect(b.body.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
        expect(b.body.usage.completion_tokens).toBe(600);
      }
      await waitFor(async () => (await server.metric("edgespec_requests_running")) === 0);
    });
  }

  test("a stream waiting in the queue gets SSE pings, then its answer", async () => {
    const blocker = await startBlocker();
    const res = await postJson(`${server.url}/v1/completions`, { ...SHORT, stream: true });
    expect(res.status).toBe(200);
    const reading = readSse(res);
    await Bun.sleep(400);
    blocker.controller.abort();
    const { events, comments } = await reading;
    expect(comments.length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toBe("[DONE]");
  });
});

describe("deadlines", () => {
  let fast: TestServer;
  beforeAll(async () => {
    fast = await startServer({ deadlineMs: 300 });
  });
  afterAll(() => fast.close());

  test("a non-streamed request past its deadline gets 504 and frees the model", async () => {
    const res = await postJson(`${fast.url}/v1/completions`, { ...LONG, stream: false });
    expect(res.status).toBe(504);
    expect((await res.json()).error.code).toBe("deadline_exceeded");
    expect(await fast.metric("edgespec_requests_running")).toBe(0);
    expect(await fast.metric("edgespec_requests_aborted_total", { reason: "deadline" })).toBe(1);
  });

  test("a stream past its deadline ends with an error chunk", async () => {
    const res = await postJson(`${fast.url}/v1/completions`, LONG);
    const { events } = await readSse(res);
    const last = JSON.parse(events.at(-1)!);
    expect(last.error.code).toBe("deadline_exceeded");
    expect(await fast.metric("edgespec_requests_running")).toBe(0);
  });
});
