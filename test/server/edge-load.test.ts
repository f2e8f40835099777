/**
 * The edge handler's model load: it runs in the background from the first request on, with every
 * request answered meanwhile; a failure says what failed (the URL and the error, "not found" only
 * for a missing file) and is tried again on a later request, backing off, unless it cannot mend.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { pathToFileURL } from "node:url";
import { createEdgeHandler } from "../../adapters/edge/handler.ts";
import { FetchError, fetchHost, MODEL_ROOT } from "../../adapters/edge/fetch-host.ts";
import { createApp, ModelService } from "../../src/server/index.ts";
import { MODEL_DIR, REPO } from "../helpers/model.ts";
import { waitFor } from "./helpers.ts";

const ortWasm = pathToFileURL(`${REPO}node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm`);

/**
 * The reference model over HTTP at /<any name>/<file>: `status` answers every request instead
 * while set (503: a model host having a bad minute), `missing` files get 404; `hits` counts requests.
 */
const files = { status: 0, missing: new Set<string>(), hits: 0 };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    files.hits++;
    if (files.status) return new Response("down", { status: files.status });
    const rel = new URL(req.url).pathname.split("/").slice(2).join("/");
    const f = Bun.file(`${MODEL_DIR}/${rel}`);
    if (files.missing.has(rel) || !(await f.exists())) return new Response("no", { status: 404 });
    return new Response(f);
  },
});
afterAll(() => server.stop(true));
const at = (name: string) => `http://127.0.0.1:${server.port}/${name}/`;

const health = async (h: ReturnType<typeof createEdgeHandler>, env: Record<string, string>) => {
  const r = await h.fetch(new Request("http://x/health"), env);
  return { status: r.status, retryAfter: r.headers.get("retry-after"), body: (await r.json()) as { status: string; error?: string; model?: string } };
};
const failed = async (h: ReturnType<typeof createEdgeHandler>, env: Record<string, string>) => {
  let last: Awaited<ReturnType<typeof health>> | undefined;
  await waitFor(async () => (last = await health(h, env)).body.status === "error", 20_000);
  return last!;
};

describe("edge model load failures", () => {
  test("a host that refuses connections: the message names the URL and the error, not 'not found'", async () => {
    const lines: string[] = [];
    const h = createEdgeHandler({ model: "http://127.0.0.1:1/m/", ortWasm, app: { log: (l) => lines.push(l) } });
    const f = await failed(h, {});
    expect(f.status).toBe(503);
    expect(f.body.error).toContain("http://127.0.0.1:1/m/");
    expect(f.body.error).not.toContain("not found");
    expect(f.retryAfter).not.toBeNull();
    const gen = await h.fetch(new Request("http://x/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", prompt: "x" }) }));
    expect(gen.status).toBe(503);
    expect((await gen.json()).error.message).toContain("http://127.0.0.1:1/m/");
    expect(lines.length).toBe(1);
  });

  test("an HTTP error is not 'not found'; a real 404 is, with the file's URL", async () => {
    const log = () => {};
    files.status = 500;
    try {
      const f = await failed(createEdgeHandler({ model: at("a"), ortWasm, app: { log } }), {});
      expect(f.body.error).toMatch(new RegExp(`cannot fetch ${at("a")}\\S+: HTTP 500`));
    } finally {
      files.status = 0;
    }
    files.missing.add("config.json");
    try {
      const f = await failed(createEdgeHandler({ model: at("b"), ortWasm, app: { log } }), {});
      expect(f.body.error).toBe(`model file not found: ${at("b")}config.json (HTTP 404 Not Found)`);
    } finally {
      files.missing.clear();
    }
  });

  test("a failed load is tried again on a request once the backoff has passed, not before; then serves", async () => {
    const lines: string[] = [];
    const h = createEdgeHandler({ model: at("renamed-model"), ortWasm, retry: { firstMs: 1500 }, app: { log: (l) => lines.push(l) } });
    files.status = 503;
    try {
      const f = await failed(h, {});
      expect(f.body.error).toContain("HTTP 503");
      expect(Number(f.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(f.retryAfter)).toBeLessThanOrEqual(2);
    } finally {
      files.status = 0;
    }
    const hits = files.hits;
    for (let i = 0; i < 5; i++) expect((await health(h, {})).body.status).toBe("error"); // within the backoff: no new attempt
    expect(files.hits).toBe(hits);
    await Bun.sleep(1600);
    expect((await health(h, {})).body.status).toBe("loading"); // this request starts the second attempt
    await waitFor(async () => (await health(h, {})).status === 200, 60_000);
    expect(files.hits).toBeGreaterThan(hits);
    expect((await health(h, {})).body.model).toBe("renamed-model");
    const r = await h.fetch(new Request("http://x/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "renamed-model", prompt: "def f(x):", max_tokens: 3 }) }));
    expect(r.status).toBe(200);
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("tried again");
  }, 120_000);

  test("a failure that cannot mend (a permission refused) is not tried again", async () => {
    const lines: string[] = [];
    const h = createEdgeHandler({ model: at("c"), ortWasm, retry: { firstMs: 10 }, app: { log: (l) => lines.push(l) } });
    const real = globalThis.fetch;
    globalThis.fetch = (async () => {
      throw Object.assign(new Error('Requires read access to "/srv/m/genai_config.json", run again with the --allow-read flag'), { name: "NotCapable" });
    }) as unknown as typeof fetch;
    try {
      const f = await failed(h, {});
      expect(f.body.error).toContain("--allow-read");
      expect(f.retryAfter).toBeNull();
      await Bun.sleep(50);
      expect((await health(h, {})).body.status).toBe("error");
    } finally {
      globalThis.fetch = real;
    }
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("not tried again");
  });
});

describe("edge fetch host", () => {
  test("a missing file: file is absent; a read that fails for another reason throws with the URL", async () => {
    const host = fetchHost(pathToFileURL(`${MODEL_DIR}/`), ortWasm);
    expect(await host.isFile(`${MODEL_ROOT}/config.json`)).toBe(true);
    expect(await host.isFile(`${MODEL_ROOT}/no-such-file.json`)).toBe(false);
    const down = fetchHost("http://127.0.0.1:1/m/", ortWasm);
    const err = await down.isFile(`${MODEL_ROOT}/config.json`).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).retryable).toBe(true);
    expect((err as Error).message).toStartWith("cannot fetch http://127.0.0.1:1/m/config.json: ");
  });

  test("each file read lets the event loop in (a timer set before it fires before it resolves)", async () => {
    const host = fetchHost(async () => new Uint8Array([1]), ortWasm);
    for (const step of [() => host.isFile(`${MODEL_ROOT}/a`), () => host.readFile(`${MODEL_ROOT}/b`)]) {
      let fired = false;
      setTimeout(() => (fired = true), 0);
      await step();
      expect(fired).toBe(true);
    }
  });
});

describe("edge: requests while the model loads", () => {
  test("/health and generations are answered at once (503, Retry-After) while the load goes on in the background", async () => {
    const h = createEdgeHandler({ model: at("tiny"), ortWasm, app: { log: () => {} } });
    const t0 = performance.now();
    const first = await health(h, {});
    expect(performance.now() - t0).toBeLessThan(500);
    expect(first).toMatchObject({ status: 503, retryAfter: "1", body: { status: "loading" } });
    const gen = await h.fetch(new Request("http://x/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny", prompt: "x" }) }));
    expect(gen.status).toBe(503);
    expect(gen.headers.get("retry-after")).toBe("1");
    expect((await gen.json()).error.code).toBe("model_not_ready");
    await waitFor(async () => (await health(h, {})).status === 200, 60_000);
  }, 90_000);

  test("a load held mid-way (every file read waits for the test): /health keeps answering at once, as the servers answer while they load", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const asked: string[] = [];
    const model = async (path: string) => {
      asked.push(path);
      await held;
      const f = Bun.file(`${MODEL_DIR}/${path}`);
      return (await f.exists()) ? new Uint8Array(await f.arrayBuffer()) : undefined;
    };
    const h = createEdgeHandler({ model, ortWasm, modelId: "held", app: { log: () => {} } });
    const stalled = Bun.sleep(1_000).then(() => "no answer within 1 s");
    // What `edgespec serve` (Bun, Node, Deno) answers before its model is ready: the same app over a load not yet done.
    const servers = await Promise.race([createApp({ engine: new ModelService(new Promise<never>(() => {})) }).request("/health"), stalled]);
    expect(servers).toBeInstanceOf(Response);
    const expected = { status: (servers as Response).status, retryAfter: (servers as Response).headers.get("retry-after"), body: await (servers as Response).json() };
    expect(expected).toEqual({ status: 503, retryAfter: "1", body: { status: "loading" } });
    for (let i = 0; i < 3; i++) {
      expect(await Promise.race([health(h, {}), stalled])).toEqual(expected);
      await Bun.sleep(20);
    }
    expect(asked.length).toBeGreaterThan(0); // the load had started and waits on the test
    const gen = await Promise.race([h.fetch(new Request("http://x/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "held", prompt: "x" }) })), stalled]);
    expect(gen).toBeInstanceOf(Response);
    expect((gen as Response).status).toBe(503);
    expect((gen as Response).headers.get("retry-after")).toBe("1");
    expect((await (gen as Response).json()).error.code).toBe("model_not_ready");
    release();
    await waitFor(async () => (await health(h, {})).status === 200, 60_000);
    expect((await health(h, {})).body).toEqual({ status: "ok", model: "held" });
  }, 90_000);
});
