/**
 * /metrics after a known sequence of requests: every counter equals what the responses reported
 * (usage, timings), exactly, and the request counters equal the requests made.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sampleValue } from "../../src/server/index.ts";
import { MODEL_ID, postJson, readSse, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
beforeAll(async () => {
  // fp32 and a fixed draft budget: the replayed request is then drafted the same way on every run.
  server = await startServer({ budget: 8 }, {}, "fp32");
});
afterAll(() => server.close());

test("counters match what was served", async () => {
  const base = { model: MODEL_ID, temperature: 0 };
  const usages: { prompt_tokens: number; completion_tokens: number }[] = [];
  const timings: { draft_n: number; draft_n_accepted: number }[] = [];
  const json = async (path: string, body: object) => {
    const res = await postJson(`${server.url}${path}`, body);
    expect(res.status).toBe(200);
    const j = await res.json();
    usages.push(j.usage);
    timings.push(j.timings);
  };
  // 1-2: completions, plain and replay-drafted; 3: the same prompt, now drafted from memory.
  const drafted = { ...base, prompt: "for i in range(10):\n", max_tokens: 30, ignore_eos: true };
  await json("/v1/completions", { ...base, prompt: "def f(x):", max_tokens: 7 });
  await json("/v1/completions", { ...drafted, drafter: "replay" });
  await json("/v1/completions", { ...drafted, drafter: "replay" });
  // 4: chat, not streamed; 5: chat streamed with usage.
  await json("/v1/chat/completions", { ...base, messages: [{ role: "user", content: "hello" }], max_tokens: 5 });
  const res = await postJson(`${server.url}/v1/chat/completions`, { ...base, messages: [{ role: "user", content: "bye" }], max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  const { events } = await readSse(res);
  const chunks = events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e));
  usages.push(chunks.find((c) => c.usage).usage);
  timings.push(chunks.find((c) => c.timings).timings);
  // 6: scoring (echo, max_tokens 0): the prompt's forward alone, no token generated or counted.
  await json("/v1/completions", { ...base, prompt: "def g(y):", max_tokens: 0, echo: true, logprobs: 1 });
  expect(usages.at(-1)!.completion_tokens).toBe(0);
  // Two refused requests (400, 404) and two reads.
  expect((await postJson(`${server.url}/v1/completions`, { ...base, prompt: "x", max_tokens: 0 })).status).toBe(400);
  expect((await postJson(`${server.url}/v1/completions`, { ...base, model: "nope", prompt: "x" })).status).toBe(404);
  expect((await fetch(`${server.url}/v1/models`)).status).toBe(200);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);

  const text = await (await fetch(`${server.url}/metrics`)).text();
  const v = (name: string, labels?: Record<string, string>) => sampleValue(text, name, labels) ?? 0;
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

  expect(v("edgespec_requests_running")).toBe(0);
  expect(v("edgespec_requests_queued")).toBe(0);
  expect(v("edgespec_model_ready")).toBe(1);
  expect(v("edgespec_http_requests_total", { route: "/v1/completions", status: "200" })).toBe(4);
  expect(v("edgespec_http_requests_total", { route: "/v1/chat/completions", status: "200" })).toBe(2);
  expect(v("edgespec_http_requests_total", { route: "/v1/completions", status: "400" })).toBe(1);
  expect(v("edgespec_http_requests_total", { route: "/v1/completions", status: "404" })).toBe(1);
  expect(v("edgespec_http_requests_total", { route: "/v1/models", status: "200" })).toBe(1);
  expect(v("edgespec_http_requests_total", { route: "/health", status: "200" })).toBe(1);
  // This scrape is counted after it is rendered.
  expect(v("edgespec_http_requests_total", { route: "/metrics", status: "200" })).toBe(0);
  expect(v("edgespec_generations_total")).toBe(6);
  // The last generation (scoring) decoded nothing: the speed gauge is still the one before it, not 0.
  expect(v("edgespec_tokens_per_second")).toBeGreaterThan(0);
  expect(v("edgespec_prompt_tokens_total")).toBe(sum(usages, (u) => u.prompt_tokens));
  expect(v("edgespec_generation_tokens_total")).toBe(sum(usages, (u) => u.completion_tokens));
  expect(v("edgespec_generation_tokens_total")).toBe(7 + 30 + 30 + usages[3]!.completion_tokens + usages[4]!.completion_tokens);
  const draftTokens = sum(timings, (t) => t.draft_n);
  const accepted = sum(timings, (t) => t.draft_n_accepted);
  expect(accepted).toBeGreaterThan(20); // the third request replays the second
  expect(v("edgespec_spec_decode_num_draft_tokens_total")).toBe(draftTokens);
  expect(v("edgespec_spec_decode_num_accepted_tokens_total")).toBe(accepted);
  expect(v("edgespec_spec_decode_drafter_draft_tokens_total", { drafter: "replay" })).toBe(draftTokens);
  expect(v("edgespec_spec_decode_drafter_accepted_tokens_total", { drafter: "replay" })).toBe(accepted);
  // Accepted per position adds up to the accepted tokens; position 1 is accepted at most once per draft.
  let perPos = 0;
  for (let p = 1; v("edgespec_spec_decode_num_accepted_tokens_per_pos_total", { position: String(p) }) > 0; p++) {
    perPos += v("edgespec_spec_decode_num_accepted_tokens_per_pos_total", { position: String(p) });
  }
  expect(perPos).toBe(accepted);
  const drafts = v("edgespec_spec_decode_num_drafts_total");
  expect(drafts).toBeGreaterThan(0);
  expect(v("edgespec_spec_decode_num_accepted_tokens_per_pos_total", { position: "1" })).toBeLessThanOrEqual(drafts);
  expect(v("edgespec_requests_rejected_total", { reason: "queue_full" })).toBe(0);

  // The next scrape sees the previous one.
  const again = await (await fetch(`${server.url}/metrics`)).text();
  expect(sampleValue(again, "edgespec_http_requests_total", { route: "/metrics", status: "200" })).toBe(1);
});
