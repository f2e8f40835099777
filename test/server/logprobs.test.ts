/**
 * logprobs on both endpoints, in OpenAI's shapes, streamed and not; with a drafter they are the
 * values plain decoding reports (fp32 server: tree rows equal one-token rows to ~1e-5).
 */
import { afterAll, expect, test } from "bun:test";
import { MODEL_ID, postJson, readSse, startServer } from "./helpers.ts";

const server = await startServer({ drafters: ["none", "hybrid", "ngram"] }, {}, "fp32");
afterAll(() => server.close());
const prompt = "def get_name(self):\n    return self.name\n\ndef get_path(self):\n";

async function completion(extra: Record<string, unknown>) {
  const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt, max_tokens: 16, temperature: 0, logprobs: 2, ...extra });
  expect(res.status).toBe(200);
  return res.json();
}

test("completions: tokens, token_logprobs, top_logprobs, text_offset; the same with and without speculation", async () => {
  const plain = await completion({ drafter: "none" });
  const lp = plain.choices[0].logprobs;
  expect(lp.tokens.length).toBe(plain.usage.completion_tokens);
  expect(lp.tokens.join("")).toBe(plain.choices[0].text);
  expect(lp.text_offset[0]).toBe(0);
  expect(lp.text_offset.at(-1)).toBe(plain.choices[0].text.length - lp.tokens.at(-1).length);
  for (const [i, top] of lp.top_logprobs.entries()) {
    expect(Object.keys(top).length).toBe(2);
    expect(Math.max(...(Object.values(top) as number[]))).toBeCloseTo(lp.token_logprobs[i], 5); // greedy: the top one
  }
  for (const drafter of ["hybrid", "ngram"]) {
    const spec = await completion({ drafter });
    expect(spec.choices[0].text).toBe(plain.choices[0].text);
    const s = spec.choices[0].logprobs;
    expect(s.tokens).toEqual(lp.tokens);
    s.token_logprobs.forEach((v: number, i: number) => expect(Math.abs(v - lp.token_logprobs[i])).toBeLessThan(1e-4));
  }
});

test("chat: logprobs.content with bytes and top_logprobs; streamed chunks carry the same", async () => {
  const body = { model: MODEL_ID, messages: [{ role: "user", content: "Write a loop." }], max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3, drafter: "hybrid" };
  const res = await postJson(`${server.url}/v1/chat/completions`, body);
  const json = await res.json();
  const content = json.choices[0].logprobs.content as { token: string; logprob: number; bytes: number[]; top_logprobs: unknown[] }[];
  expect(content.length).toBe(json.usage.completion_tokens);
  expect(content.map((c) => c.token).join("")).toBe(json.choices[0].message.content);
  for (const c of content) {
    expect(c.bytes).toEqual(Array.from(new TextEncoder().encode(c.token)));
    expect(c.top_logprobs.length).toBe(3);
  }
  const { events } = await readSse(await postJson(`${server.url}/v1/chat/completions`, { ...body, stream: true }));
  const streamed = events.filter((e) => e !== "[DONE]").flatMap((e) => JSON.parse(e).choices[0]?.logprobs?.content ?? []);
  expect(streamed.map((c: { token: string }) => c.token)).toEqual(content.map((c) => c.token));
  // Without logprobs: null, as OpenAI sends it.
  const none = await (await postJson(`${server.url}/v1/chat/completions`, { ...body, logprobs: false, top_logprobs: undefined })).json();
  expect(none.choices[0].logprobs).toBeNull();
});

test("completions echo: the prompt comes first, in the text and (with logprobs) in tokens, without the tokenizer's BOS", async () => {
  const plain = await completion({ drafter: "hybrid" });
  const echoed = await completion({ drafter: "hybrid", echo: true });
  expect(echoed.choices[0].text).toBe(prompt + plain.choices[0].text);
  const lp = echoed.choices[0].logprobs;
  expect(lp.tokens.join("")).toBe(echoed.choices[0].text);
  // The BOS the tokenizer added is left out (usage still counts it): the first token is text, with
  // its logprob after the BOS.
  expect(lp.tokens[0]).not.toBe("");
  expect(lp.token_logprobs[0]).toBeLessThanOrEqual(0);
  expect(lp.tokens.length).toBe(echoed.usage.prompt_tokens - 1 + echoed.usage.completion_tokens);
  // The completion part is what the request without echo reported.
  expect(lp.token_logprobs.slice(-plain.usage.completion_tokens)).toEqual(plain.choices[0].logprobs.token_logprobs);
  expect(lp.text_offset.slice(-plain.usage.completion_tokens).map((o: number) => o - prompt.length)).toEqual(plain.choices[0].logprobs.text_offset);
  // Prompt logprobs are real: every prompt token has a finite one, most of them likely.
  const promptLps = lp.token_logprobs.slice(0, echoed.usage.prompt_tokens - 1) as number[];
  expect(promptLps.every((v) => Number.isFinite(v) && v <= 0)).toBe(true);
  // Streamed echo (without logprobs): the prompt arrives first.
  const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt, max_tokens: 16, temperature: 0, echo: true, stream: true });
  const { events } = await readSse(res);
  const texts = events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e).choices[0]?.text ?? "");
  expect(texts[0]).toBe(prompt);
  expect(texts.join("")).toBe(prompt + plain.choices[0].text);
});
