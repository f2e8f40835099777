/** API key (Bearer / X-Api-Key), CORS, /health while loading, and a model without a chat template. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { createApp, ModelService } from "../../src/server/index.ts";
import { TextCodec } from "../../src/model/tokenizer.ts";
import { referenceModel } from "../helpers/model.ts";
import { MODEL_ID, postJson, startServer, type TestServer } from "./helpers.ts";

const KEY = "sk-test-7f3a";
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ apiKey: KEY, corsOrigins: ["https://app.example"] });
});
afterAll(() => server.close());

const SHORT = { model: MODEL_ID, prompt: "def f(x):", max_tokens: 3, temperature: 0 };

describe("API key", () => {
  test("missing or wrong key -> 401 in OpenAI's shape; right key -> 200", async () => {
    const none = await postJson(`${server.url}/v1/completions`, SHORT);
    expect(none.status).toBe(401);
    expect((await none.json()).error.type).toBe("authentication_error");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect(none.headers.get("x-request-id")).toBeTruthy(); // refusals can be traced too
    const wrong: Record<string, string>[] = [{ authorization: "Bearer wrong" }, { authorization: `Bearer ${KEY}x` }, { "x-api-key": KEY.slice(0, -1) }, { authorization: KEY }];
    for (const headers of wrong) {
      const r = await postJson(`${server.url}/v1/completions`, SHORT, { headers });
      expect(r.status).toBe(401);
    }
    const bearer = await postJson(`${server.url}/v1/completions`, SHORT, { headers: { authorization: `Bearer ${KEY}` } });
    expect(bearer.status).toBe(200);
    const xkey = await postJson(`${server.url}/v1/completions`, SHORT, { headers: { "x-api-key": KEY } });
    expect(xkey.status).toBe(200);
  });

  test("every route but /health is guarded", async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    for (const path of ["/", "/metrics", "/v1/models"]) expect((await fetch(`${server.url}${path}`)).status).toBe(401);
    expect((await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
  });

  test("the openai client: rejected without the key, served with it", async () => {
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "nope", maxRetries: 0 });
    const err = await wrong.completions.create(SHORT).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const right = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await right.completions.create(SHORT)).usage!.completion_tokens).toBe(3);
  });
});

describe("CORS", () => {
  test("a configured origin gets CORS headers, on preflight without a key too", async () => {
    const pre = await fetch(`${server.url}/v1/completions`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    // The openai SDK in a browser sends its X-Stainless-* headers on every call: a preflight that
    // does not allow them makes the browser block every request.
    const sdk = "authorization,content-type,x-stainless-lang,x-stainless-package-version,x-stainless-os,x-stainless-arch,x-stainless-runtime,x-stainless-runtime-version,x-stainless-retry-count,x-stainless-timeout";
    const sdkPre = await fetch(`${server.url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": sdk } });
    const allowed = (sdkPre.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",").map((h) => h.trim());
    for (const h of sdk.split(",")) expect(allowed).toContain(h);
    // A 429's Retry-After is readable by the page's code.
    const got = await fetch(`${server.url}/health`, { headers: { origin: "https://app.example" } });
    expect(got.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("retry-after");
    // So is the x-request-id of any /v1 answer, to report which request failed.
    const traced = await fetch(`${server.url}/v1/models`, { headers: { origin: "https://app.example", authorization: `Bearer ${KEY}` } });
    expect(traced.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
    expect(traced.headers.get("x-request-id")).toBeTruthy();
    const other = await fetch(`${server.url}/health`, { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("off unless configured", async () => {
    const plain = await startServer();
    try {
      const r = await fetch(`${plain.url}/health`, { headers: { origin: "https://app.example" } });
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await plain.close();
    }
  });
});

describe("model state", () => {
  test("/health is 503 while the model loads and 200 once it is ready; generation waits with 503 meanwhile", async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const engine = new ModelService(gate.then(() => referenceModel("q8")));
    const app = createApp({ engine });
    const loading = await app.request("/health");
    expect(loading.status).toBe(503);
    expect((await loading.json()).status).toBe("loading");
    const early = await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(SHORT) });
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBe("1");
    expect((await early.json()).error.code).toBe("model_not_ready");
    finish();
    await engine.ready;
    expect((await app.request("/health")).status).toBe(200);
  });

  test("a model that failed to load: /health 503 with the reason, requests 503", async () => {
    const engine = new ModelService(Promise.reject(new Error("model directory not found: /nowhere")), { modelId: "x" });
    await engine.ready;
    const app = createApp({ engine });
    const h = await app.request("/health");
    expect(h.status).toBe(503);
    expect((await h.json()).error).toContain("/nowhere");
    const r = await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...SHORT, model: "x" }) });
    expect(r.status).toBe(503);
  });

  test("a model without a chat template: chat is a clear 400, completions still work", async () => {
    const m = await referenceModel("q8");
    const { chat_template: _, ...config } = m.tokenizer.config;
    const tokenizerJson = JSON.parse(await Bun.file(`${m.dir}/tokenizer.json`).text());
    const engine = new ModelService({ ...m, tokenizer: new TextCodec({ tokenizerJson, tokenizerConfig: config }) });
    await engine.ready;
    const app = createApp({ engine });
    const chat = await app.request("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL_ID, messages: [{ role: "user", content: "hi" }] }) });
    expect(chat.status).toBe(400);
    const err = (await chat.json()).error;
    expect(err.code).toBe("chat_template_missing");
    expect(err.message).toContain("chat template");
    const comp = await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(SHORT) });
    expect(comp.status).toBe(200);
  });
});

describe("createApp defaults", () => {
  test("the default drafter is the CLI's (hybrid) when offered, else plain decoding", async () => {
    const engine = new ModelService(await referenceModel("q8"));
    const card = async (drafters: string[]) => (await (await createApp({ engine, options: { drafters } }).request("/v1/models")).json()).data[0].edgespec;
    expect(await card(["hybrid", "ngram"])).toEqual({ drafters: ["none", "hybrid", "ngram"], default_drafter: "hybrid" });
    expect((await card(["ngram"])).default_drafter).toBe("none");
  });
});
