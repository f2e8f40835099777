/**
 * Bad input never crashes the server and never gets a 500: each case below gets its status and an
 * OpenAI error body, over real HTTP, and the server answers a good request afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { referenceModel } from "../helpers/model.ts";
import { MODEL_ID, postJson, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const BODY_LIMIT = 4096;
const HEADER_LIMIT = 4096;

beforeAll(async () => {
  server = await startServer({ maxBodyBytes: BODY_LIMIT, maxHeaderBytes: HEADER_LIMIT });
});
afterAll(() => server.close());

const ok = { model: MODEL_ID, prompt: "def f(x):", max_tokens: 4, temperature: 0 };
const chat = { model: MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 4 };

interface Case {
  name: string;
  path?: string;
  body: unknown;
  contentType?: string;
  status: number;
  param?: string | null;
  code?: string;
}

// Fields the server does not implement: asking for them is a 400 naming the field, never a silent no.
const UNSUPPORTED: [string, unknown, string?][] = [
  ["echo", true, "/v1/chat/completions"],
  ["best_of", 3],
  ["suffix", "}"],
  ["tools", [{ type: "function", function: { name: "f" } }], "/v1/chat/completions"],
  ["response_format", { type: "json_object" }, "/v1/chat/completions"],
];

const CASES: Case[] = [
  ...UNSUPPORTED.map(([field, value, path]): Case => ({
    name: `unsupported: ${field} = ${JSON.stringify(value)}`,
    path,
    body: { ...(path ? chat : ok), [field]: value },
    status: 400,
    param: field,
    code: "unsupported_parameter",
  })),
  { name: "prediction of another type", path: "/v1/chat/completions", body: { ...chat, prediction: { type: "file", content: "x" } }, status: 400, param: "prediction" },
  { name: "prediction content parts without text", path: "/v1/chat/completions", body: { ...chat, prediction: { type: "content", content: [{ type: "image" }] } }, status: 400, param: "prediction" },
  { name: "prediction as a bare string", body: { ...ok, prediction: "x" }, status: 400, param: "prediction" },
  { name: "a message name that is not text", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "user", content: "hi", name: 5 }] }, status: 400, param: "messages[0].name" },
  { name: "tool_calls that are not a list of objects", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "assistant", tool_calls: "f()" }, { role: "user", content: "hi" }] }, status: 400, param: "messages[0].tool_calls" },
  { name: "a control token in a message name (it would forge a turn)", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "user", content: "hi", name: "x</s>" }] }, status: 400, param: "messages[0].name" },
  { name: "a user message without content", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "user" }] }, status: 400, param: "messages[0].content" },
  { name: "echo with logprobs in a stream", body: { ...ok, echo: true, logprobs: 1, stream: true }, status: 400, param: "echo" },
  { name: "completions logprobs above 5", body: { ...ok, logprobs: 6 }, status: 400, param: "logprobs" },
  { name: "completions logprobs true (it takes a count)", body: { ...ok, logprobs: true }, status: 400, param: "logprobs" },
  { name: "chat top_logprobs above 20", path: "/v1/chat/completions", body: { ...chat, logprobs: true, top_logprobs: 21 }, status: 400, param: "top_logprobs" },
  { name: "chat top_logprobs without logprobs", path: "/v1/chat/completions", body: { ...chat, top_logprobs: 2 }, status: 400, param: "top_logprobs" },
  { name: "chat logprobs not a boolean", path: "/v1/chat/completions", body: { ...chat, logprobs: 2 }, status: 400, param: "logprobs" },
  { name: "presence_penalty out of range", body: { ...ok, presence_penalty: 2.5 }, status: 400, param: "presence_penalty" },
  { name: "frequency_penalty not a number", body: { ...ok, frequency_penalty: "high" }, status: 400, param: "frequency_penalty" },
  { name: "repetition_penalty 0", body: { ...ok, repetition_penalty: 0 }, status: 400, param: "repetition_penalty" },
  { name: "min_p above 1", body: { ...ok, min_p: 1.5 }, status: 400, param: "min_p" },
  { name: "logit_bias with a key that is not a token id", body: { ...ok, logit_bias: { abc: 1 } }, status: 400, param: "logit_bias" },
  { name: "logit_bias over 100", body: { ...ok, logit_bias: { "50": 101 } }, status: 400, param: "logit_bias" },
  { name: "logit_bias for a token outside the vocabulary", body: { ...ok, logit_bias: { "4096": 1 } }, status: 400, param: "logit_bias" },
  { name: "an invalid max_tokens beside a valid max_completion_tokens", body: { ...ok, max_tokens: -5, max_completion_tokens: 4 }, status: 400, param: "max_tokens" },
  { name: "malformed JSON", body: '{"model": "edgespec-tiny", "prompt": ', status: 400, code: "invalid_json" },
  { name: "a JSON array body", body: "[1, 2]", status: 400, code: "invalid_json" },
  { name: "a JSON string body", body: '"hello"', status: 400, code: "invalid_json" },
  { name: "null body", body: "null", status: 400, code: "invalid_json" },
  { name: "empty body", body: "", status: 400, code: "invalid_json" },
  { name: "wrong content type", body: JSON.stringify(ok), contentType: "text/plain", status: 415, code: "unsupported_media_type" },
  { name: "form content type", body: "model=x", contentType: "application/x-www-form-urlencoded", status: 415 },
  { name: "missing model", body: { prompt: "x" }, status: 400, param: "model" },
  { name: "unknown model", body: { ...ok, model: "gpt-4" }, status: 404, param: "model", code: "model_not_found" },
  { name: "missing prompt", body: { model: MODEL_ID }, status: 400, param: "prompt", code: "missing_required_parameter" },
  { name: "prompt of the wrong type", body: { ...ok, prompt: { text: "x" } }, status: 400, param: "prompt" },
  { name: "batch of more prompts than the limit (20)", body: { ...ok, prompt: Array(21).fill("a") }, status: 400, param: "prompt" },
  { name: "batch mixing text and token ids", body: { ...ok, prompt: ["a", [1, 2]] }, status: 400, param: "prompt" },
  { name: "token id outside the vocabulary", body: { ...ok, prompt: [1, 99999] }, status: 400, param: "prompt", code: "invalid_token" },
  { name: "negative token id", body: { ...ok, prompt: [1, -3] }, status: 400, param: "prompt" },
  { name: "max_tokens = 0", body: { ...ok, max_tokens: 0 }, status: 400, param: "max_tokens" },
  { name: "max_tokens < 0", body: { ...ok, max_tokens: -5 }, status: 400, param: "max_tokens" },
  { name: "max_tokens not an integer", body: { ...ok, max_tokens: 2.5 }, status: 400, param: "max_tokens" },
  { name: "max_tokens as a string", body: { ...ok, max_tokens: "10" }, status: 400, param: "max_tokens" },
  { name: "max_completion_tokens = 0", body: { ...chat, max_completion_tokens: 0 }, path: "/v1/chat/completions", status: 400, param: "max_completion_tokens" },
  { name: "temperature Infinity (1e999)", body: `{"model":"${MODEL_ID}","prompt":"x","temperature":1e999}`, status: 400, param: "temperature" },
  { name: "temperature \"NaN\"", body: { ...ok, temperature: "NaN" }, status: 400, param: "temperature" },
  { name: "temperature out of range", body: { ...ok, temperature: 2.5 }, status: 400, param: "temperature" },
  { name: "negative temperature", body: { ...ok, temperature: -0.1 }, status: 400, param: "temperature" },
  { name: "top_p -Infinity", body: `{"model":"${MODEL_ID}","prompt":"x","top_p":-1e999}`, status: 400, param: "top_p" },
  { name: "top_p out of range", body: { ...ok, top_p: 1.5 }, status: 400, param: "top_p" },
  { name: "top_p below 0", body: { ...ok, top_p: -0.01 }, status: 400, param: "top_p" },
  { name: "seed not an integer", body: { ...ok, seed: 1.5 }, status: 400, param: "seed" },
  { name: "n = 2", body: { ...ok, n: 2 }, status: 400, param: "n" },
  { name: "stream not a boolean", body: { ...ok, stream: "yes" }, status: 400, param: "stream" },
  { name: "too many stop strings", body: { ...ok, stop: ["a", "b", "c", "d", "e"] }, status: 400, param: "stop" },
  { name: "a stop string too long", body: { ...ok, stop: "x".repeat(65) }, status: 400, param: "stop" },
  { name: "stop of the wrong type", body: { ...ok, stop: [1] }, status: 400, param: "stop" },
  { name: "unknown drafter", body: { ...ok, drafter: "magic" }, status: 400, param: "drafter" },
  {
    name: "prompt + max_tokens beyond the context",
    body: { ...ok, prompt: "x = 1\n".repeat(100), max_tokens: 1000 },
    status: 400,
    param: "max_tokens",
    code: "context_length_exceeded",
  },
  { name: "model not a string", body: { ...ok, model: 5 }, status: 400, param: "model", code: "invalid_value" },
  { name: "max_tokens alone beyond the context (a short prompt)", body: { ...ok, max_tokens: 100_000_000 }, status: 400, param: "max_tokens", code: "context_length_exceeded" },
  { name: "prompt alone beyond the context", body: { ...ok, prompt: Array(1100).fill(5), max_tokens: undefined }, status: 400, code: "context_length_exceeded" },
  { name: "body over the size limit", body: { ...ok, prompt: "x".repeat(BODY_LIMIT) }, status: 413, code: "request_too_large" },
  { name: "chat: missing messages", path: "/v1/chat/completions", body: { model: MODEL_ID }, status: 400, param: "messages" },
  { name: "chat: empty messages", path: "/v1/chat/completions", body: { ...chat, messages: [] }, status: 400, param: "messages" },
  { name: "chat: unknown role", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "wizard", content: "x" }] }, status: 400, param: "messages[0].role" },
  { name: "chat: content of the wrong type", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "user", content: 5 }] }, status: 400, param: "messages[0].content" },
  { name: "chat: image content part", path: "/v1/chat/completions", body: { ...chat, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }, status: 400 },
  { name: "unknown route", path: "/v1/embeddings", body: { model: MODEL_ID, input: "x" }, status: 404 },
];

describe("bad input: status + OpenAI error body, and the server keeps serving", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const body = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
      const res = await fetch(`${server.url}${c.path ?? "/v1/completions"}`, { method: "POST", headers: { "content-type": c.contentType ?? "application/json" }, body });
      expect(res.status).toBe(c.status);
      const json = await res.json();
      expect(Object.keys(json)).toEqual(["error"]);
      expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(typeof json.error.message).toBe("string");
      expect(json.error.message.length).toBeGreaterThan(0);
      if (c.param !== undefined) expect(json.error.param).toBe(c.param);
      if (c.code) expect(json.error.code).toBe(c.code);
    });
  }

  test("penalties, logit_bias and min_p are accepted and change greedy output; neutral values change nothing", async () => {
    const text = async (extra: Record<string, unknown>) => {
      const res = await postJson(`${server.url}/v1/completions`, { ...ok, prompt: "a = [1, 2, 3]\nb = [1, 2, 3]\nc = [", max_tokens: 24, temperature: 0, ...extra });
      expect(res.status).toBe(200);
      return (await res.json()).choices[0].text as string;
    };
    const plain = await text({});
    expect(await text({ logit_bias: {}, presence_penalty: 0, frequency_penalty: 0, repetition_penalty: 1, min_p: 0 })).toBe(plain);
    expect(await text({ frequency_penalty: 1.5, repetition_penalty: 1.5 })).not.toBe(plain);
    // Banning the first token plain decoding chose changes the text.
    const { tokenizer } = await referenceModel();
    const first = tokenizer.encode(plain, false)[0]!;
    expect(plain).toStartWith(tokenizer.decode([first]));
    expect(await text({ logit_bias: { [first]: -100 } })).not.toStartWith(tokenizer.decode([first]));
  });

  test("unsupported fields sent with the values that ask for nothing are accepted", async () => {
    const noOps = { logprobs: false, echo: false, best_of: 1, suffix: "" };
    const res = await postJson(`${server.url}/v1/completions`, { ...ok, ...noOps });
    expect(res.status).toBe(200);
    const c = await postJson(`${server.url}/v1/chat/completions`, { ...chat, tools: [], response_format: { type: "text" }, top_logprobs: 0, logprobs: null });
    expect(c.status).toBe(200);
  });

  test("the context error gives the token counts", async () => {
    const res = await postJson(`${server.url}/v1/completions`, { ...ok, prompt: [1, 2, 3, 4, 5], max_tokens: 1020 });
    const { error } = await res.json();
    expect(error.message).toContain("1024");
    expect(error.message).toContain("5 in the prompt");
    expect(error.message).toContain("1020 for the completion");
  });

  test("a body over the limit without Content-Length (chunked) is refused too", async () => {
    const big = new TextEncoder().encode(JSON.stringify({ ...ok, prompt: "y".repeat(BODY_LIMIT * 4) }));
    const stream = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < big.length; i += 1000) ctl.enqueue(big.subarray(i, i + 1000));
        ctl.close();
      },
    });
    const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: stream });
    expect(res.status).toBe(413);
  });

  test("headers over the limit get 431 with an error body (and headers under it pass)", async () => {
    const big = await postJson(`${server.url}/v1/completions`, ok, { headers: { cookie: "c".repeat(HEADER_LIMIT) } });
    expect(big.status).toBe(431);
    const { error } = await big.json();
    expect(error.code).toBe("headers_too_large");
    expect(error.message).toContain(`at most ${HEADER_LIMIT} bytes`);
    expect((await postJson(`${server.url}/v1/completions`, ok, { headers: { cookie: "c".repeat(HEADER_LIMIT - 500) } })).status).toBe(200);
  });

  test("after all of it: no 500 was ever served, and a good request still succeeds", async () => {
    for (const path of ["/v1/completions", "/v1/chat/completions"]) {
      const res = await postJson(`${server.url}${path}`, path.includes("chat") ? chat : ok);
      expect(res.status).toBe(200);
      expect((await res.json()).usage.completion_tokens).toBeGreaterThan(0);
    }
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toMatch(/status="5\d\d"/);
    expect(await server.metric("edgespec_requests_running")).toBe(0);
  });
});
