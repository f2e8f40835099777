/**
 * The official `openai` client, unchanged, against a Bun server on loopback: completions and chat,
 * streamed and not. Under greedy decoding the streamed text must equal the non-streamed text.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { MODEL_ID, postJson, readSse, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  // fp32: the drafter test compares drafted with plain text (see startServer).
  // A fixed draft budget: "auto" follows measured timings, so acceptance counts would vary with load.
  server = await startServer({ budget: 8 }, {}, "fp32");
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => server.close());

const PROMPT = "def parse_args(argv):\n    parser = argparse.ArgumentParser()\n";
const MESSAGES = [
  { role: "system" as const, content: "You write Python." },
  { role: "user" as const, content: "Write a function that adds two numbers." },
];

describe("openai client against a Bun server", () => {
  test("lists the model", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL_ID]);
  });

  test("completions: streamed text equals non-streamed text, usage agrees", async () => {
    const plain = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0 });
    expect(plain.object).toBe("text_completion");
    expect(plain.choices[0]!.text.length).toBeGreaterThan(0);
    expect(plain.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    const ids = new Set<string>();
    const created = new Set<number>();
    let usage;
    for await (const chunk of stream) {
      ids.add(chunk.id);
      created.add(chunk.created);
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.text;
        finish = c.finish_reason ?? finish;
      }
    }
    expect(text).toBe(plain.choices[0]!.text);
    expect(finish).toBe(plain.choices[0]!.finish_reason);
    expect(ids.size).toBe(1);
    expect(created.size).toBe(1);
    expect(usage).toEqual(plain.usage);
  });

  test("chat: streamed text equals non-streamed text; first delta has the role, last the finish reason", async () => {
    const plain = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, max_tokens: 40, temperature: 0 });
    expect(plain.object).toBe("chat.completion");
    expect(plain.choices[0]!.message.role).toBe("assistant");
    const stream = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, max_completion_tokens: 40, temperature: 0, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(plain.choices[0]!.message.content!);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe(plain.choices[0]!.finish_reason);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  test("logprobs through the client: chat (streamed and not) and completions, with the usage chunk", async () => {
    const plain = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 2 });
    const content = plain.choices[0]!.logprobs!.content!;
    expect(content.length).toBe(plain.usage!.completion_tokens);
    expect(content.map((c) => c.token).join("")).toBe(plain.choices[0]!.message.content!);
    for (const c of content) expect(c.top_logprobs.length).toBe(2);
    const stream = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 2, stream: true, stream_options: { include_usage: true } });
    const streamed: typeof content = [];
    let usage;
    for await (const chunk of stream) {
      streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      if (chunk.usage) usage = chunk.usage;
    }
    expect(streamed.map((c) => [c.token, c.logprob])).toEqual(content.map((c) => [c.token, c.logprob]));
    expect(usage).toEqual(plain.usage);
    const completion = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 8, temperature: 0, logprobs: 1 });
    expect(completion.choices[0]!.logprobs!.tokens!.length).toBe(completion.usage!.completion_tokens);
    expect(completion.choices[0]!.logprobs!.token_logprobs!.every((l) => l <= 0)).toBe(true);
  });

  test("the chat prompt is the model's template, encoded once with its BOS", async () => {
    const r = await client.chat.completions.create({ model: MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 1, temperature: 0 });
    // "<s>### user\nhi\n\n### assistant\n": one BOS, then the rendered text. Encoding it with
    // special tokens again would add a second BOS and one more token.
    const { referenceModel } = await import("../helpers/model.ts");
    const m = await referenceModel("q8");
    const expected = m.tokenizer.encode("### user\nhi\n\n### assistant\n", true).length;
    expect(r.usage!.prompt_tokens).toBe(expected);
  });

  test("stop strings: streamed and non-streamed cut at the same place, never showing the stop string", async () => {
    const full = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0 });
    const t = full.choices[0]!.text;
    const stop = t.slice(Math.floor(t.length / 2), Math.floor(t.length / 2) + 3);
    const cut = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0, stop: [stop] });
    expect(cut.choices[0]!.finish_reason).toBe("stop");
    expect(cut.choices[0]!.text).toBe(t.slice(0, t.indexOf(stop)));
    const stream = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0, stop, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(cut.choices[0]!.text);
  });

  test("a seeded sampled request is reproducible", async () => {
    const a = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 24, temperature: 0.9, top_p: 0.9, seed: 7 });
    const b = await client.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 24, temperature: 0.9, top_p: 0.9, seed: 7 });
    expect(b.choices[0]!.text).toBe(a.choices[0]!.text);
  });

  test("a drafter changes nothing in the text; its accepted tokens are marked in the stream", async () => {
    const prompt = "class Config:\n    def __init__(self, path):\n";
    const body = { model: MODEL_ID, prompt, max_tokens: 48, temperature: 0, ignore_eos: true };
    const plain = await (await postJson(`${server.url}/v1/completions`, body)).json();
    // First pass fills the replay drafter's memory; the second is drafted from it.
    await postJson(`${server.url}/v1/completions`, { ...body, drafter: "replay" });
    const res = await postJson(`${server.url}/v1/completions`, { ...body, drafter: "replay", stream: true });
    const { events } = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0].text).join("")).toBe(plain.choices[0].text);
    const sources = new Set(chunks.filter((c) => c.choices[0].text).map((c) => c.source));
    expect(sources.has("replay")).toBe(true);
    const timings = chunks.at(-1).timings;
    expect(timings.predicted_n).toBe(48);
    expect(timings.draft_n_accepted).toBeGreaterThan(30);
    expect(timings.mean_accepted_length).toBeGreaterThan(2);
    // Where it ran and what it cost in copies: wasm, the cache in JS memory, bytes per token
    // counted, and greedy steps read ids (logits-heads.ts), not a 4096-float logits row per token.
    expect(timings).toMatchObject({ backend: "wasm", kv_cache: "cpu" });
    // The threads it ran on: the process's WASM pool, as onnxruntime-web holds it.
    expect(timings.threads).toBe((await import("onnxruntime-web")).env.wasm.numThreads);
    expect(timings.read_back_bytes_per_token).toBeGreaterThan(0);
    expect(timings.read_back_bytes_per_token).toBeLessThan(4096 * 4);
  });
});
