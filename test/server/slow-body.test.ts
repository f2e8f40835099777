/**
 * A client that sends headers and part of a body, then stalls (or trickles), gets 408 in
 * OpenAI's error shape once the body timeout passes, and the connection is closed: it cannot hold
 * a socket (and a file descriptor) for ever. A body that arrives in time is served as usual.
 */
import { afterAll, expect, test } from "bun:test";
import { postJson, startServer } from "./helpers.ts";

const TIMEOUT_MS = 400;
const server = await startServer({ bodyTimeoutMs: TIMEOUT_MS });
afterAll(() => server.close());

/** Opens a raw connection, writes `head` and the start of a body, and collects what comes back. */
async function stalledUpload(head: string, partial: string): Promise<{ text: string; closedAfterMs: number }> {
  const port = Number(new URL(server.url).port);
  let text = "";
  const t0 = performance.now();
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        text += new TextDecoder().decode(chunk);
      },
      close() {
        closed();
      },
      error() {
        closed();
      },
    },
  });
  socket.write(head + partial);
  const timer = setTimeout(() => socket.end(), 10_000); // the test's own safety net
  await done;
  clearTimeout(timer);
  return { text, closedAfterMs: performance.now() - t0 };
}

test("a body that stalls gets 408 request_timeout after the body timeout, and the connection closes", async () => {
  const body = JSON.stringify({ model: "edgespec-tiny", prompt: "def f():", max_tokens: 4 });
  const head = `POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const r = await stalledUpload(head, body.slice(0, 10));
  expect(r.text).toStartWith("HTTP/1.1 408");
  const json = JSON.parse(r.text.slice(r.text.indexOf("\r\n\r\n") + 4));
  expect(json.error).toEqual({ message: `request body did not arrive within ${TIMEOUT_MS / 1000} s`, type: "invalid_request_error", param: null, code: "request_timeout" });
  expect(r.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  expect(r.closedAfterMs).toBeLessThan(TIMEOUT_MS + 5_000);
});

test("a body that arrives in time is served", async () => {
  const res = await postJson(`${server.url}/v1/completions`, { model: "edgespec-tiny", prompt: "def f():", max_tokens: 4, temperature: 0 });
  expect(res.status).toBe(200);
  expect((await res.json()).usage.completion_tokens).toBe(4);
});

test("a client that hangs up mid-upload is counted as 499 (client closed request), never as a server error", async () => {
  const logged: string[] = [];
  const quiet = await startServer({ bodyTimeoutMs: 5_000, log: (line) => logged.push(line) });
  try {
    const port = new URL(quiet.url).port;
    const body = JSON.stringify({ model: "edgespec-tiny", prompt: "def f():", max_tokens: 4 });
    const head = `POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n`;
    const upload = async () => {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: Number(port), socket: { data() {} } });
      socket.write(head + body.slice(0, 20));
      await Bun.sleep(50);
      socket.end();
    };
    await upload();
    await upload();
    // The server sees the hang-up asynchronously: wait until both are counted.
    for (let i = 0; i < 100 && (await quiet.metric("edgespec_http_requests_total", { route: "/v1/completions", status: "499" })) < 2; i++) await Bun.sleep(20);
    expect(await quiet.metric("edgespec_http_requests_total", { route: "/v1/completions", status: "499" })).toBe(2);
    const text = await (await fetch(`${quiet.url}/metrics`)).text();
    expect(text).not.toMatch(/status="5\d\d"/);
    expect(logged.filter((l) => l.includes("internal error"))).toEqual([]);
    const res = await postJson(`${quiet.url}/v1/completions`, { model: "edgespec-tiny", prompt: "def f():", max_tokens: 4, temperature: 0 });
    expect(res.status).toBe(200);
  } finally {
    await quiet.close();
  }
});
