/**
 * `edgespec serve` on Deno: the server reads request.signal (a client that leaves stops its work),
 * which made Deno print "Deno.serve: request.signal aborts on successful responses (legacy
 * behavior) …" at the first request of every run. The notice is gone; a client that leaves is
 * still seen, in the queue and while its request generates.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BIN, MODEL_DIR, REPO } from "../helpers/model.ts";
import { type Spawned, spawnServer } from "../server/processes.ts";

let s: Spawned;
beforeAll(async () => {
  s = await spawnServer([BIN.deno[0]!, "run", "-A", `${REPO}adapters/deno/serve.ts`, "--model", MODEL_DIR, "--host", "127.0.0.1", "--port", "0", "--device", "wasm", "--drafter", "none"]);
});
afterAll(() => s?.proc.kill());

const MESSAGES = [{ role: "user", content: "Write a loop." }];
const post = (body: object, signal?: AbortSignal) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "edgespec-tiny", messages: MESSAGES, temperature: 0, ...body }), ...(signal ? { signal } : {}) });
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}
async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

test("Deno serve: no legacy request.signal notice on stderr after answered requests, streamed and not", async () => {
  const plain = await post({ max_tokens: 4 });
  expect(plain.status).toBe(200);
  await plain.json();
  const streamed = await post({ max_tokens: 4, stream: true });
  expect(await streamed.text()).toContain("[DONE]");
  await Bun.sleep(300); // the notice came as the response finished
  expect(s.stderr()).not.toMatch(/request\.signal|legacy behavior|legacy-abort/);
}, 60_000);

test("Deno serve: a client that leaves is still seen, while generating and while queued", async () => {
  const LONG = { max_tokens: 900, ignore_eos: true };
  const running = new AbortController();
  const a = post(LONG, running.signal).catch((e) => e);
  await until(async () => (await metric("edgespec_requests_running")) === 1, 20_000);
  const queued = new AbortController();
  const b = post({ max_tokens: 4 }, queued.signal).catch((e) => e);
  await until(async () => (await metric("edgespec_requests_queued")) === 1, 5_000);
  queued.abort();
  await b;
  await until(async () => (await metric("edgespec_requests_queued")) === 0, 2_000);
  running.abort();
  await a;
  await until(async () => (await metric("edgespec_requests_running")) === 0, 2_000);
}, 60_000);
