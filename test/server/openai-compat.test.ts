/**
 * Completions details where OpenAI's API says exactly what comes back: batched prompts (a list of
 * prompts, one choice each), the sampled token in top_logprobs, echo without the tokenizer's own
 * BOS, echo with max_tokens 0 (scoring), and the context-length 400 naming the field sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { MODEL_ID, postJson, readSse, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer({ limits: { maxPrompts: 3 } }, {}, "fp32");
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => server.close());

const A = "def add(a, b):\n";
const B = "class Point:\n";

async function completion(body: Record<string, unknown>) {
  const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, temperature: 0, ...body });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${res.status}: ${JSON.stringify(json)}`);
  return json;
}

describe("batched prompts: one choice per prompt, in order, usage summed", () => {
  test("a list of strings through the openai client, as LangChain sends it", async () => {
    const one = await Promise.all([A, B].map((prompt) => client.completions.create({ model: MODEL_ID, prompt, max_tokens: 6, temperature: 0 })));
    const both = await client.completions.create({ model: MODEL_ID, prompt: [A, B], max_tokens: 6, temperature: 0 });
    expect(both.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(both.choices.map((c) => c.text)).toEqual(one.map((r) => r.choices[0]!.text));
    expect(both.choices.map((c) => c.finish_reason)).toEqual(one.map((r) => r.choices[0]!.finish_reason));
    expect(both.usage).toEqual({
      prompt_tokens: one[0]!.usage!.prompt_tokens + one[1]!.usage!.prompt_tokens,
      completion_tokens: one[0]!.usage!.completion_tokens + one[1]!.usage!.completion_tokens,
      total_tokens: one[0]!.usage!.total_tokens + one[1]!.usage!.total_tokens,
    });
  });

  test("a list of token-id lists, with echo and logprobs per choice", async () => {
    const a = [1, 100, 101, 102];
    const b = [1, 200, 201];
    const one = await Promise.all([a, b].map((prompt) => completion({ prompt, max_tokens: 4, echo: true, logprobs: 1 })));
    const both = await completion({ prompt: [a, b], max_tokens: 4, echo: true, logprobs: 1 });
    expect(both.choices.length).toBe(2);
    for (const i of [0, 1]) {
      expect(both.choices[i].index).toBe(i);
      expect(both.choices[i].text).toBe(one[i].choices[0].text);
      expect(both.choices[i].logprobs.tokens).toEqual(one[i].choices[0].logprobs.tokens);
      expect(both.choices[i].logprobs.text_offset[0]).toBe(0); // each choice counts its own text
    }
    expect(both.usage.prompt_tokens).toBe(a.length + b.length);
  });

  test("streamed: chunks carry their choice's index, one finish each, one usage chunk (the sum), one [DONE]", async () => {
    const plain = await completion({ prompt: [A, B], max_tokens: 6 });
    const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt: [A, B], max_tokens: 6, temperature: 0, echo: true, stream: true, stream_options: { include_usage: true } });
    const { events } = await readSse(res);
    expect(events.filter((e) => e === "[DONE]").length).toBe(1);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const usage = chunks.filter((c) => c.usage);
    expect(usage.length).toBe(1);
    expect(usage[0].choices).toEqual([]);
    expect(usage[0].usage).toEqual(plain.usage);
    const choices = chunks.flatMap((c) => c.choices);
    for (const i of [0, 1]) {
      const mine = choices.filter((c) => c.index === i);
      expect(mine.map((c) => c.text).join("")).toBe([A, B][i] + plain.choices[i].text);
      expect(mine.filter((c) => c.finish_reason !== null).map((c) => c.finish_reason)).toEqual([plain.choices[i].finish_reason]);
    }
    // In prompt order: every chunk of choice 0 before any of choice 1.
    const order = choices.map((c) => c.index);
    expect(order).toEqual([...order].sort());
  });

  test("more prompts than the server's limit, or a mixed list: 400 naming prompt", async () => {
    for (const prompt of [["a", "b", "c", "d"], ["a", [1, 2]], [], [[1, 2], []]]) {
      const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt, max_tokens: 2 });
      expect(res.status).toBe(400);
      expect((await res.json()).error.param).toBe("prompt");
    }
    // A batch is checked whole before anything runs: one prompt too long fails the request.
    const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt: ["a", "x = 1\n".repeat(400)], max_tokens: 2 });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("context_length_exceeded");
  });
});

describe("completions logprobs: the sampled token is always in top_logprobs", () => {
  test("logprobs 0: top_logprobs holds just the sampled token", async () => {
    const r = await completion({ prompt: A, max_tokens: 8, logprobs: 0 });
    const lp = r.choices[0].logprobs;
    expect(lp.tokens.length).toBe(8);
    lp.top_logprobs.forEach((top: Record<string, number>, i: number) => expect(top).toEqual({ [lp.tokens[i]]: lp.token_logprobs[i] }));
  });

  test("sampled: the chosen token is there (with its logprob) even when it is not among the top k", async () => {
    const r = await completion({ prompt: A, max_tokens: 24, logprobs: 1, temperature: 2, seed: 3 });
    const lp = r.choices[0].logprobs;
    for (const [i, top] of (lp.top_logprobs as Record<string, number>[]).entries()) {
      expect(top[lp.tokens[i]]).toBe(lp.token_logprobs[i]);
      expect(Object.keys(top).length).toBeLessThanOrEqual(2); // logprobs + 1 at most
    }
  });
});

describe("echo", () => {
  test("leaves out the BOS the tokenizer added: the tokens are the prompt's text, offsets from 0", async () => {
    const r = await completion({ prompt: "Hello", max_tokens: 3, echo: true, logprobs: 1 });
    const lp = r.choices[0].logprobs;
    expect(lp.tokens.slice(0, 2)).toEqual(["Hel", "lo"]);
    expect(lp.tokens.join("")).toBe(r.choices[0].text);
    expect(lp.text_offset.slice(0, 2)).toEqual([0, 3]);
    expect(lp.tokens.length).toBe(lp.token_logprobs.length);
    expect(lp.tokens.length).toBe(lp.top_logprobs.length);
    // "Hel" follows the BOS the model saw: a real logprob. usage counts what the model saw.
    expect(lp.token_logprobs[0]).toBeLessThanOrEqual(0);
    expect(r.usage.prompt_tokens).toBe(3);
    // A token-id prompt is reported as sent, its first id without a logprob.
    const ids = await completion({ prompt: [1, 3342, 329], max_tokens: 3, echo: true, logprobs: 1 });
    expect(ids.choices[0].logprobs.tokens.slice(0, 3)).toEqual(["", "Hel", "lo"]);
    expect(ids.choices[0].logprobs.token_logprobs[0]).toBeNull();
  });

  test("max_tokens 0 with echo: the prompt and its logprobs, nothing generated, finish_reason length", async () => {
    const full = await completion({ prompt: A, max_tokens: 4, echo: true, logprobs: 2 });
    const n = full.usage.prompt_tokens;
    for (const field of ["max_tokens", "max_completion_tokens"]) {
      const r = await completion({ prompt: A, [field]: 0, echo: true, logprobs: 2 });
      expect(r.choices[0].text).toBe(A);
      expect(r.choices[0].finish_reason).toBe("length");
      expect(r.usage).toEqual({ prompt_tokens: n, completion_tokens: 0, total_tokens: n });
      const lp = r.choices[0].logprobs;
      expect(lp.tokens.join("")).toBe(A);
      const k = lp.tokens.length;
      expect(lp.token_logprobs).toEqual(full.choices[0].logprobs.token_logprobs.slice(0, k));
      expect(lp.top_logprobs).toEqual(full.choices[0].logprobs.top_logprobs.slice(0, k));
    }
    // At a sampling temperature, the prompt's logprobs are of that temperature's distribution, as a generation's echo.
    const warm = await completion({ prompt: A, max_tokens: 4, echo: true, logprobs: 2, temperature: 0.7, seed: 1 });
    const scored = (await completion({ prompt: A, max_tokens: 0, echo: true, logprobs: 2, temperature: 0.7 })).choices[0].logprobs;
    expect(scored.token_logprobs).toEqual(warm.choices[0].logprobs.token_logprobs.slice(0, scored.tokens.length));
    expect(scored.token_logprobs).not.toEqual(full.choices[0].logprobs.token_logprobs.slice(0, scored.tokens.length));
    // Streamed (echo without logprobs): the prompt, then the finish.
    const { events } = await readSse(await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt: A, max_tokens: 0, echo: true, stream: true }));
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0].text).join("")).toBe(A);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("length");
    // Without echo, 0 is still refused.
    const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt: A, max_tokens: 0 });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("max_tokens");
  });
});

test("the context-length 400 names the field the client sent", async () => {
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    for (const path of ["/v1/completions", "/v1/chat/completions"]) {
      const body = path.endsWith("chat/completions") ? { messages: [{ role: "user", content: "hi" }] } : { prompt: A };
      const res = await postJson(`${server.url}${path}`, { model: MODEL_ID, ...body, [field]: 5000 });
      expect(res.status).toBe(400);
      const err = (await res.json()).error;
      expect(err.code).toBe("context_length_exceeded");
      expect(err.param).toBe(field);
    }
  }
});
