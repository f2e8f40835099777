/**
 * Request fields reach the engine as asked: the context boundary is exact (a prompt plus
 * max_tokens that fills the context is served, one more token is refused), and top_k and top_p reach
 * the sampler (top_k 1 and top_p 0 are greedy whatever the temperature and seed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MODEL_ID, postJson, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let ctx: number;
beforeAll(async () => {
  server = await startServer();
  ctx = server.engine.requireModel().spec.contextLength;
});
afterAll(() => server.close());

const complete = (body: Record<string, unknown>) => postJson(`${server.url}/v1/completions`, { model: MODEL_ID, ...body });

describe("context boundary", () => {
  // Token-id prompts: their length is exact, whatever the tokenizer does with text.
  const prompt = (n: number) => Array.from({ length: n }, (_, i) => 300 + (i % 50));

  test("prompt + max_tokens exactly the context: served, to the last token", async () => {
    const res = await complete({ prompt: prompt(ctx - 3), max_tokens: 3, temperature: 0, ignore_eos: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.usage.prompt_tokens).toBe(ctx - 3);
    expect(body.usage.completion_tokens).toBe(3);
    expect(body.choices[0].finish_reason).toBe("length");
  });

  test("one token over: 400 context_length_exceeded naming max_tokens", async () => {
    const res = await complete({ prompt: prompt(ctx - 3), max_tokens: 4, temperature: 0 });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe("context_length_exceeded");
    expect(body.error.param).toBe("max_tokens");
    expect(body.error.message).toContain(`you requested ${ctx + 1} tokens`);
  });

  test("a prompt that leaves one token of room, without max_tokens: served one token", async () => {
    const res = await complete({ prompt: prompt(ctx - 1), temperature: 0, ignore_eos: true });
    expect(res.status).toBe(200);
    expect((await res.json()).usage.completion_tokens).toBe(1);
    const full = await complete({ prompt: prompt(ctx), temperature: 0 });
    expect(full.status).toBe(400);
    expect((await full.json()).error.code).toBe("context_length_exceeded");
  });
});

describe("a prompt that cannot fit is refused before it is tokenized", () => {
  test("720 kB of text (completion) and of chat content: 400, and the tokenizer never ran", async () => {
    const tokenizer = server.engine.requireModel().tokenizer;
    const encode = tokenizer.encode.bind(tokenizer);
    let calls = 0;
    tokenizer.encode = (text: string, special?: boolean) => {
      calls++;
      return encode(text, special);
    };
    try {
      const big = "x = 1\n".repeat(120_000); // 840 kB of JSON, under the 1 MiB body limit
      const res = await complete({ prompt: big, max_tokens: 4 });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error.code).toBe("context_length_exceeded");
      expect(body.error.message).toContain("at least");
      const chat = await postJson(`${server.url}/v1/chat/completions`, { model: MODEL_ID, messages: [{ role: "user", content: big }] });
      expect(chat.status).toBe(400);
      expect((await chat.json()).error.param).toBe("messages");
      expect(calls).toBe(0);
      // A prompt under the bound is tokenized as before (and checked exactly).
      expect((await complete({ prompt: "x = 1\n".repeat(400), max_tokens: 4 })).status).toBe(400);
      expect(calls).toBe(1);
    } finally {
      tokenizer.encode = encode;
    }
  });
});

describe("huge prompts and the event loop", () => {
  test("/health stays responsive while a flood of 720 kB prompts is refused", async () => {
    const big = "x = 1\n".repeat(120_000);
    // Tokenizing one such prompt on the event loop took ~290 ms; ten would hold /health for seconds.
    const flood = Array.from({ length: 10 }, () => complete({ prompt: big, max_tokens: 4 }));
    const probes: number[] = [];
    let done = false;
    const settled = Promise.all(flood).then((rs) => ((done = true), rs));
    do {
      const t0 = performance.now();
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      probes.push(performance.now() - t0);
    } while (!done);
    for (const r of await settled) expect(r.status).toBe(400);
    expect(Math.max(...probes)).toBeLessThan(1000);
  });
});

describe("sampling fields reach the sampler", () => {
  const base = { prompt: "import os\n\ndef main(argv):\n", max_tokens: 24, ignore_eos: true };

  test("temperature 2 with top_k 1 equals greedy, for several seeds", async () => {
    const greedy = (await (await complete({ ...base, temperature: 0 })).json()).choices[0].text as string;
    for (const seed of [1, 2, 3]) {
      const res = await complete({ ...base, temperature: 2, top_k: 1, seed });
      expect(res.status).toBe(200);
      expect((await res.json()).choices[0].text).toBe(greedy);
    }
  });

  test("top_p 0 (OpenAI's range is [0, 1]) keeps the most likely token: temperature 2 equals greedy, for several seeds", async () => {
    const greedy = (await (await complete({ ...base, temperature: 0 })).json()).choices[0].text as string;
    for (const seed of [1, 2, 3]) {
      const res = await complete({ ...base, temperature: 2, top_p: 0, seed });
      expect(res.status).toBe(200);
      expect((await res.json()).choices[0].text).toBe(greedy);
    }
  });

  test("temperature 2 without top_k does not (the test above can fail)", async () => {
    const greedy = (await (await complete({ ...base, temperature: 0 })).json()).choices[0].text as string;
    const texts = await Promise.all([1, 2, 3].map(async (seed) => (await (await complete({ ...base, temperature: 2, seed })).json()).choices[0].text as string));
    expect(texts.some((t) => t !== greedy)).toBe(true);
  });

  test("the same seed gives the same sampled text; top_p narrows it to greedy when tiny", async () => {
    const a = (await (await complete({ ...base, temperature: 1, seed: 7 })).json()).choices[0].text;
    const b = (await (await complete({ ...base, temperature: 1, seed: 7 })).json()).choices[0].text;
    expect(a).toBe(b);
    const greedy = (await (await complete({ ...base, temperature: 0 })).json()).choices[0].text;
    const tinyP = (await (await complete({ ...base, temperature: 1.5, top_p: 1e-6, seed: 3 })).json()).choices[0].text;
    expect(tinyP).toBe(greedy);
  });
});

describe("prediction (Predicted Outputs)", () => {
  // fp32: speculation is exact there (q8's is near-exact only), so the answers must be equal.
  let exact: TestServer;
  beforeAll(async () => {
    exact = await startServer({}, {}, "fp32");
  });
  afterAll(() => exact.close());
  const complete = (body: Record<string, unknown>) => postJson(`${exact.url}/v1/completions`, { model: MODEL_ID, ...body });

  test("the answer is plain decoding's, the prediction's tokens are counted in usage, streamed or not", async () => {
    const base = { prompt: "def parse_header(line):\n    ", max_tokens: 48, temperature: 0, ignore_eos: true };
    const plain = await (await complete(base)).json();
    const text = plain.choices[0].text as string;
    const right = await (await complete({ ...base, prediction: { type: "content", content: text } })).json();
    expect(right.choices[0].text).toBe(text);
    const details = right.usage.completion_tokens_details;
    expect(details.accepted_prediction_tokens).toBeGreaterThanOrEqual(44);
    expect(details.accepted_prediction_tokens + details.rejected_prediction_tokens).toBeGreaterThanOrEqual(44);
    // Content parts, and a wrong prediction: same answer, nearly nothing accepted.
    const wrong = await (await complete({ ...base, prediction: { type: "content", content: [{ type: "text", text: "}}}}}}}}}}}}}}}}" }] } })).json();
    expect(wrong.choices[0].text).toBe(text);
    expect(wrong.usage.completion_tokens_details.accepted_prediction_tokens).toBeLessThan(3);
    expect(plain.usage.completion_tokens_details).toBeUndefined();
    // Streamed with usage: the usage chunk carries the same counts.
    const res = await complete({ ...base, prediction: { type: "content", content: text }, stream: true, stream_options: { include_usage: true } });
    const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: {"));
    const last = JSON.parse(events[events.length - 1]!.slice(6));
    expect(last.usage.completion_tokens_details).toEqual(details);
    expect(events.map((e) => JSON.parse(e.slice(6)).choices[0]?.text ?? "").join("")).toBe(text);
  });
});
