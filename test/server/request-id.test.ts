/**
 * Tracing what a server answered: every /v1 response carries an x-request-id (the client's own
 * when it sent a sane one), the request log names it, and chat and completion answers and stream
 * chunks carry OpenAI's system_fingerprint, stable for one server and changed by another model.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { ModelSpec } from "../../src/model/config.ts";
import type { TextCodec } from "../../src/model/tokenizer.ts";
import type { ModelRunner } from "../../src/server/model-runner.ts";
import type { RequestLogEntry } from "../../src/server/request-log.ts";
import { ModelService } from "../../src/server/service.ts";
import { MODEL_ID, postJson, readSse, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const logged: RequestLogEntry[] = [];
beforeAll(async () => {
  server = await startServer({ requestLog: (e) => logged.push(e) });
});
afterAll(() => server.close());

const COMPLETION = { model: MODEL_ID, prompt: "def f(x):", max_tokens: 3, temperature: 0 };
const CHAT = { model: MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 3, temperature: 0 };

describe("x-request-id", () => {
  test("a sane id the client sent is echoed, on answers, streams, refusals and unknown /v1 routes", async () => {
    const id = "trace-42 /abc:XYZ~";
    const headers = { "x-request-id": id };
    const ok = await postJson(`${server.url}/v1/completions`, COMPLETION, { headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe(id);
    const streamed = await postJson(`${server.url}/v1/chat/completions`, { ...CHAT, stream: true }, { headers });
    expect(streamed.headers.get("x-request-id")).toBe(id);
    await streamed.text();
    const bad = await postJson(`${server.url}/v1/completions`, { ...COMPLETION, top_k: -1 }, { headers });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-request-id")).toBe(id);
    const missing = await fetch(`${server.url}/v1/nothing-here`, { headers });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe(id);
    expect((await fetch(`${server.url}/v1/models`, { headers })).headers.get("x-request-id")).toBe(id);
    expect((await fetch(`${server.url}/v1/models`, { headers: { "x-request-id": "x".repeat(128) } })).headers.get("x-request-id")).toBe("x".repeat(128));
  });

  test("none sent, one too long or not printable ASCII, or two: a new id, different for each request", async () => {
    const ids: string[] = [];
    // Two x-request-id headers reach the app joined ("one, two"): neither is echoed.
    const twice = new Headers({ "content-type": "application/json" });
    twice.append("x-request-id", "one");
    twice.append("x-request-id", "two");
    for (const sent of [undefined, "x".repeat(129), "a\tb", "caf\u00e9", twice]) {
      const res =
        sent instanceof Headers
          ? await fetch(`${server.url}/v1/completions`, { method: "POST", headers: sent, body: JSON.stringify(COMPLETION) })
          : await postJson(`${server.url}/v1/completions`, COMPLETION, { headers: sent === undefined ? {} : { "x-request-id": sent } });
      expect(res.status).toBe(200);
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      ids.push(id!);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("the request log names the id the response carried", async () => {
    logged.length = 0;
    const res = await postJson(`${server.url}/v1/completions`, COMPLETION, { headers: { "x-request-id": "log-me-1" } });
    const body = await res.json();
    const refused = await postJson(`${server.url}/v1/completions`, { ...COMPLETION, max_tokens: 1_000_000 });
    expect(refused.status).toBe(400);
    expect(logged.length).toBe(2);
    expect(logged[0]).toMatchObject({ id: body.id, requestId: "log-me-1", status: 200 });
    expect(logged[1]).toMatchObject({ requestId: refused.headers.get("x-request-id")!, status: 400 });
  });
});

describe("system_fingerprint", () => {
  test("on completions and chat, their stream chunks and usage chunks: one value for the server", async () => {
    const fp = server.engine.fingerprint;
    expect(fp).toMatch(/^fp_[0-9a-f]{10}$/);
    const completion = await (await postJson(`${server.url}/v1/completions`, COMPLETION)).json();
    expect(completion.system_fingerprint).toBe(fp);
    const chat = await (await postJson(`${server.url}/v1/chat/completions`, CHAT)).json();
    expect(chat.system_fingerprint).toBe(fp);
    for (const [path, body] of [["/v1/completions", COMPLETION], ["/v1/chat/completions", CHAT]] as const) {
      const { events } = await readSse(await postJson(`${server.url}${path}`, { ...body, stream: true, stream_options: { include_usage: true } }));
      const chunks = events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e));
      expect(chunks.some((c) => c.usage)).toBe(true);
      for (const c of chunks) expect(c.system_fingerprint).toBe(fp);
    }
    // As the openai client reads it.
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    expect((await client.chat.completions.create({ ...CHAT, messages: [{ role: "user", content: "hi" }] })).system_fingerprint).toBe(fp);
  });

  test("derived from the loaded model and the served name: another model or name gives another", () => {
    const runner = (identity: string): ModelRunner => ({
      facts: { dir: "/models/m", tokenizer: {} as TextCodec, spec: { vocabSize: 8 } as ModelSpec, identity },
      run: () => Promise.reject(new Error("not run")),
      close: async () => {},
    });
    const fp = (identity: string, modelId = "m") => new ModelService(runner(identity), { modelId }).fingerprint;
    expect(fp("q8 on wasm")).toBe(fp("q8 on wasm"));
    expect(fp("q8 on wasm")).not.toBe(fp("fp32 on wasm"));
    expect(fp("q8 on wasm")).not.toBe(fp("q8 on wasm", "other"));
  });
});
