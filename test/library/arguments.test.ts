/**
 * A library call's arguments are checked by the rules the server checks a request's fields by
 * (decode/params.ts for logit_bias, model/chat-messages.ts for roles): what the server refuses
 * with a 400, the library refuses as invalid_argument, in the same words, before any model work.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { edgespecApp, open } from "../../adapters/bun/index.ts";
import { MODEL_DIR } from "../helpers/model.ts";

const lm = await open({ model: MODEL_DIR, device: "wasm", dtype: "fp32" });
afterAll(() => lm.close());
const app = edgespecApp(lm);
const modelId = (await (await app.request("/v1/models")).json()).data[0].id as string;

const refusal = (p: Promise<unknown>) => p.then(() => "resolved", (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);

/** The server's answer to a request over the same LM: status, param and message. */
async function served(path: string, body: Record<string, unknown>): Promise<{ status: number; param?: string; message?: string }> {
  const res = await app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: modelId, max_tokens: 2, ...body }) });
  const json = await res.json();
  return { status: res.status, param: json.error?.param, message: json.error?.message };
}

describe("library arguments, by the server's rules", () => {
  test("logitBias: an id outside the vocabulary is refused, naming the id and the vocabulary's size, as the server does", async () => {
    const V = lm.model.lm.spec.vocabSize;
    for (const id of [V, 999_999]) {
      const message = `logit_bias names token ${id}, which is not in the vocabulary (size ${V})`;
      expect(await refusal(lm.generate("def f(x):", { maxTokens: 4, logitBias: { [id]: 5 } }))).toBe(`invalid_argument: ${message}`);
      expect(await refusal((async () => { for await (const _ of lm.stream("def f(x):", { maxTokens: 4, logitBias: { [id]: -5 } })); })())).toBe(`invalid_argument: ${message}`);
      expect(await served("/v1/completions", { prompt: "def f(x):", logit_bias: { [id]: 5 } })).toEqual({ status: 400, param: "logit_bias", message });
    }
    // Not an integer id, or not a finite bias: refused alike.
    expect(await refusal(lm.generate("x", { maxTokens: 2, logitBias: { 1.5: 5 } }))).toBe(`invalid_argument: logit_bias names token 1.5, which is not in the vocabulary (size ${lm.model.lm.spec.vocabSize})`);
    expect(await refusal(lm.generate("x", { maxTokens: 2, logitBias: { [-1]: 5 } }))).toStartWith("invalid_argument: logit_bias names token -1, which is not in the vocabulary");
    expect(await refusal(lm.generate("x", { maxTokens: 2, logitBias: { 5: Infinity } }))).toBe("invalid_argument: logit_bias for token 5 must be a number between -100 and 100, got Infinity");
    expect(await refusal(lm.generate("x", { maxTokens: 2, logitBias: { 5: NaN } }))).toBe("invalid_argument: logit_bias for token 5 must be a number between -100 and 100, got NaN");
    // The last id in the vocabulary is fine, and applied: +100 makes it the greedy choice.
    const r = await lm.generate("def f(x):", { maxTokens: 2, logitBias: { [V - 1]: 100 }, stopAtEos: false });
    expect(r.tokens[0]).toBe(V - 1);
  });

  test("logprobs: an integer from 0 to 20, as the server's top_logprobs; anything else is refused before any model work", async () => {
    const js = lm as unknown as { generate(p: string, o: unknown): Promise<unknown> };
    // Taken as given before: -1 gave no alternatives, 5000 the whole vocabulary, "3" three.
    for (const bad of [-1, 1.5, 21, 5000, "3", NaN]) {
      expect(await refusal(js.generate("x", { maxTokens: 2, logprobs: bad }))).toBe(`invalid_argument: logprobs must be an integer from 0 to 20 (alternatives per token), got ${typeof bad === "number" ? bad : JSON.stringify(bad)}`);
    }
    expect(await refusal((async () => { for await (const _ of lm.stream("x", { maxTokens: 2, logprobs: -1 })); })())).toStartWith("invalid_argument: logprobs must be");
    for (const k of [0, 20]) {
      const r = await lm.generate("def f(x):", { maxTokens: 2, logprobs: k });
      expect(r.logprobs?.map((l) => l.top.length)).toEqual([k, k]);
    }
  });

  test("a sampling parameter that is no number is quoted in the refusal, not printed as if it were one", async () => {
    const js = lm as unknown as { generate(p: string, o: unknown): Promise<unknown> };
    expect(await refusal(js.generate("x", { maxTokens: "5" }))).toBe('invalid_argument: max_tokens must be an integer >= 1, got "5"');
    expect(await refusal(js.generate("x", { temperature: "0.5" }))).toBe('invalid_argument: temperature must be a number >= 0 and <= 2, got "0.5"');
    expect(await refusal(js.generate("x", { seed: null }))).toBe("invalid_argument: seed must be an integer, got null");
    expect(await refusal(lm.generate("x", { maxTokens: 0 }))).toBe("invalid_argument: max_tokens must be an integer >= 1, got 0");
  });

  test("an option the library does not take is refused, not ignored: the wire's snake_case names point to the camelCase ones", async () => {
    const js = lm as unknown as { generate(p: string, o: unknown): Promise<unknown>; chat(m: unknown, o: unknown): Promise<unknown>; stream(p: string, o: unknown): AsyncIterable<string> };
    const list = "the options are maxTokens, temperature, topP, topK, minP, seed, stop, stopAtEos, logitBias, repetitionPenalty, presencePenalty, frequencyPenalty, logprobs, budget, signal, prediction";
    // max_tokens was ignored: 256 tokens came back.
    expect(await refusal(js.generate("x", { max_tokens: 2 }))).toBe(`invalid_argument: unknown option "max_tokens" (did you mean maxTokens?); ${list}`);
    expect(await refusal(js.chat([{ role: "user", content: "hi" }], { top_p: 0.5 }))).toBe(`invalid_argument: unknown option "top_p" (did you mean topP?); ${list}`);
    expect(await refusal((async () => { for await (const _ of js.stream("x", { maxTokenz: 2 })); })())).toBe(`invalid_argument: unknown option "maxTokenz"; ${list}`);
    // Engine options that are not the library's went through to the engine (a drafter name where a drafter belongs).
    expect(await refusal(js.generate("x", { maxTokens: 2, drafter: "hybrid" }))).toBe(`invalid_argument: unknown option "drafter"; ${list}`);
    expect(await refusal(js.generate("x", { maxTokens: 2, signal: "x" }))).toBe("invalid_argument: signal must be an AbortSignal, got string");
    expect((await lm.generate("x", { maxTokens: 2, signal: new AbortController().signal })).tokens.length).toBeGreaterThan(0);
  });

  test("chat: an unknown role is refused with the server's rule and words; so is content that is not text", async () => {
    const rule = 'role must be one of system, developer, user, assistant, tool, got "wizard"';
    const js = lm as unknown as { chat(m: unknown, p?: unknown): Promise<unknown> };
    expect(await refusal(js.chat([{ role: "wizard", content: "x" }], { maxTokens: 2 }))).toBe(`invalid_argument: messages[0]: ${rule}`);
    expect(await refusal(js.chat([{ role: "user", content: "hi" }, { content: "x" }]))).toBe("invalid_argument: messages[1]: role must be one of system, developer, user, assistant, tool, got undefined");
    expect(await served("/v1/chat/completions", { messages: [{ role: "wizard", content: "x" }] })).toEqual({ status: 400, param: "messages[0].role", message: rule });
    expect(await refusal(js.chat([{ role: "user", content: 5 }]))).toBe("invalid_argument: messages[0].content must be text, got number");
    expect(await refusal(js.chat(["hi"]))).toBe("invalid_argument: messages[0] must be an object ({ role, content }), got string");
    // A known role still chats.
    expect((await lm.chat([{ role: "user", content: "hello" }], { maxTokens: 2 })).tokens.length).toBeGreaterThan(0);
  });
});
