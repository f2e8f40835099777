/**
 * Stopping a server: `npx edgespec serve` (the Node launcher that runs the CLI on Bun in a child)
 * passes SIGTERM on and exits with it, so no server outlives the process a supervisor knows.
 */
import { expect, test } from "bun:test";
import { BIN, MODEL_DIR, nodeBundle, REPO } from "../helpers/model.ts";
import { spawnServer } from "./processes.ts";
import { waitFor } from "./helpers.ts";

test("SIGTERM to the launcher stops the server it started: the launcher exits and the port is released", async () => {
  const s = await spawnServer(["node", `${REPO}bin/edgespec.mjs`, "serve", "--model", MODEL_DIR, "--port", "0"]);
  expect((await fetch(`${s.url}/health`)).status).toBe(200);
  s.proc.kill("SIGTERM");
  const code = await s.proc.exited;
  // The CLI exits 0 on SIGTERM; the launcher exits as its child did.
  expect(code).toBe(0);
  await waitFor(async () => fetch(`${s.url}/health`).then(() => false, () => true), 5_000);
}, 60_000);

test("SIGTERM drains: the running stream finishes with [DONE], queued requests get 503 server_shutting_down, then exit 0", async () => {
  const s = await spawnServer([...BIN.bun, "serve", "--model", MODEL_DIR, "--port", "0", "--drafter", "none"]);
  const body = (stream: boolean) => JSON.stringify({ model: "edgespec-tiny", prompt: "def main():\n", max_tokens: 600, temperature: 0, ignore_eos: true, stream });
  const post = (stream: boolean) => fetch(`${s.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: body(stream) });
  const running = await post(true);
  const reader = running.body!.getReader();
  const first = await reader.read(); // generation has started: the model is this request's
  expect(first.done).toBe(false);
  const queued = [post(false), post(true)];
  await waitFor(async () => (await (await fetch(`${s.url}/metrics`)).text()).includes("edgespec_requests_queued 2"), 10_000);
  s.proc.kill("SIGTERM");
  // Queued: refused at once, in OpenAI's error shape (the stream one as an SSE data event).
  const [plain, streamed] = await Promise.all(queued);
  expect(plain.status).toBe(503);
  expect((await plain.json()).error.code).toBe("server_shutting_down");
  expect(await streamed.text()).toContain('"code":"server_shutting_down"');
  // Running: completes normally.
  let text = new TextDecoder().decode(first.value);
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    text += new TextDecoder().decode(r.value);
  }
  expect(text).toContain('"finish_reason":"length"');
  expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  expect(await s.proc.exited).toBe(0);
  expect(s.stderr()).toContain("SIGTERM: finishing the running request");
}, 60_000);

// npm runs the launcher below `sh -c`; a SIGTERM to npm ends npm and the shell, not the launcher
// (npm 11, measured), which used to leave the server running with its port held.
for (const runtime of ["bun", "node"] as const) {
  test(`under npm, the launcher whose shell is killed stops its server (${runtime})`, async () => {
    // "; true": the shell stays the launcher's parent instead of exec'ing it, as npm's does.
    const cmd = `node ${REPO}bin/edgespec.mjs serve --model ${MODEL_DIR} --host 127.0.0.1 --port 0; true`;
    if (runtime === "node") await nodeBundle();
    const env = { ...process.env, npm_lifecycle_event: "npx", ...(runtime === "node" ? { EDGESPEC_RUNTIME: "node" } : {}) };
    const s = await spawnServer(["sh", "-c", cmd], REPO, { env });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    s.proc.kill("SIGTERM");
    await s.proc.exited;
    await waitFor(async () => fetch(`${s.url}/health`).then(() => false, () => true), 10_000);
  }, 60_000);
}
