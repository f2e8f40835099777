/** Servers in child processes (other runtimes, the compiled binary, the edge bundle) and one client workout for them. */
import { expect } from "bun:test";
import OpenAI from "openai";
import { REPO } from "../helpers/model.ts";
import { MODEL_ID } from "./helpers.ts";

export interface Spawned {
  url: string;
  proc: ReturnType<typeof Bun.spawn>;
  stderr: () => string;
}

/** Starts a server command (listening on 127.0.0.1, port 0), waits until it says it is ready, returns its URL. */
export async function spawnServer(cmd: string[], cwd = REPO, opts: { ready?: RegExp; port?: RegExp; timeoutMs?: number; env?: Record<string, string | undefined> } = {}): Promise<Spawned> {
  const ready = opts.ready ?? /edgespec: ready/;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...(opts.env ?? process.env), XDG_RUNTIME_DIR: "/tmp" } });
  let err = "";
  const reader = proc.stderr.getReader();
  const dec = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(err)) {
    const r = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
    if (!r || r.done) {
      proc.kill();
      throw new Error(`server did not become ready: ${cmd.join(" ")}\n${err}`);
    }
    err += dec.decode(r.value, { stream: true });
  }
  // Keep draining stderr so the child never blocks on a full pipe.
  void (async () => {
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) break;
      err += dec.decode(r.value, { stream: true });
    }
  })();
  const port = (opts.port ?? /istening on http:\/\/127\.0\.0\.1:(\d+)/).exec(err)?.[1];
  if (!port) throw new Error(`no port in: ${err}`);
  return { url: `http://127.0.0.1:${port}`, proc, stderr: () => err };
}

/** Completions and chat, streamed and not, through the openai client; returns the greedy texts. */
export async function exercise(url: string): Promise<string[]> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
  const prompt = "import os\n\ndef read_config(path):\n";
  const messages = [{ role: "user" as const, content: "Write a loop." }];
  const comp = await client.completions.create({ model: MODEL_ID, prompt, max_tokens: 24, temperature: 0 });
  let streamed = "";
  for await (const c of await client.completions.create({ model: MODEL_ID, prompt, max_tokens: 24, temperature: 0, stream: true })) streamed += c.choices[0]?.text ?? "";
  expect(streamed).toBe(comp.choices[0]!.text);
  const chat = await client.chat.completions.create({ model: MODEL_ID, messages, max_tokens: 24, temperature: 0 });
  let chatStreamed = "";
  for await (const c of await client.chat.completions.create({ model: MODEL_ID, messages, max_tokens: 24, temperature: 0, stream: true })) chatStreamed += c.choices[0]?.delta.content ?? "";
  expect(chatStreamed).toBe(chat.choices[0]!.message.content!);
  expect(comp.usage!.completion_tokens).toBeGreaterThan(0);
  return [comp.choices[0]!.text, chat.choices[0]!.message.content!];
}

