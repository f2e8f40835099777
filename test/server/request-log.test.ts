/**
 * `serve --log-requests`: one structured entry per generation request, with what an operator needs
 * (status, error code, tokens, timings, speculation), for answered, refused and streamed requests.
 */
import { describe, expect, test } from "bun:test";
import type { RequestLogEntry } from "../../src/server/request-log.ts";
import { MODEL_ID, startServer } from "./helpers.ts";

describe("structured request log", () => {
  test("an answer, a stream and a refusal each log one entry with the status the client got", async () => {
    const entries: RequestLogEntry[] = [];
    const s = await startServer({ requestLog: (e) => entries.push(e) });
    try {
      const post = (path: string, body: unknown) => fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const ok = await post("/v1/completions", { model: MODEL_ID, prompt: "def add(a, b):", max_tokens: 8, drafter: "replay" });
      expect(ok.status).toBe(200);
      const id = (await ok.json()).id;
      const streamed = await post("/v1/chat/completions", { model: MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 5, stream: true });
      const text = await streamed.text();
      expect(text).toEndWith("data: [DONE]\n\n");
      const refused = await post("/v1/completions", { model: MODEL_ID, prompt: "x", max_tokens: 1_000_000 });
      expect(refused.status).toBe(400);
      const notJson = await fetch(`${s.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
      expect(notJson.status).toBe(400);
      // The stream's entry is written when its last event is: wait for it.
      for (let i = 0; i < 50 && entries.length < 4; i++) await Bun.sleep(20);
      expect(entries.length).toBe(4);
      // Every entry survives being one JSON line (no undefined, NaN or cycles).
      for (const e of entries) expect(JSON.parse(JSON.stringify(e))).toEqual(e);
      const [a, b, c, d] = entries; // the requests were sent one after another
      expect(a).toMatchObject({ id, endpoint: "completions", stream: false, status: 200, promptTokens: expect.any(Number), completionTokens: 8, finishReason: "length", drafter: "replay" });
      expect(a!.queueMs).toBeGreaterThanOrEqual(0);
      expect(a!.totalMs).toBeGreaterThanOrEqual(a!.prefillMs! + a!.decodeMs!);
      expect(b).toMatchObject({ endpoint: "chat.completions", stream: true, status: 200, completionTokens: 5 });
      expect(b!.error).toBeUndefined();
      expect(c).toMatchObject({ endpoint: "completions", status: 400, error: "context_length_exceeded" });
      expect(c!.id).toBeUndefined();
      expect(d).toMatchObject({ status: 400 });
      expect(typeof d!.error).toBe("string");
    } finally {
      await s.close();
    }
  });
});
