/**
 * The edge handler takes its configuration from the deployment: a Workers-style `env` (fetch's
 * second argument) or the process environment, over the bundle's own options.
 */
import { describe, expect, test } from "bun:test";
import { pathToFileURL } from "node:url";
import { createEdgeHandler, edgeOptionsFromEnv, edgespecModelId } from "../../adapters/edge/handler.ts";
import { MODEL_DIR, REPO } from "../helpers/model.ts";

const model = pathToFileURL(`${MODEL_DIR}/`);
const ortWasm = pathToFileURL(`${REPO}node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm`);

describe("edge configuration from env", () => {
  test("env keys override the bundle's options; absent keys leave them", () => {
    const base = { model, ortWasm, drafter: "ngram", app: { corsOrigins: ["https://a.example"] } };
    expect(edgeOptionsFromEnv(base, {})).toEqual(base);
    const o = edgeOptionsFromEnv(base, { EDGESPEC_API_KEY: "k1", EDGESPEC_ALLOWED_HOSTS: "api.example, b.example", EDGESPEC_MODEL_URL: "https://models.example/m/", EDGESPEC_DRAFTER: "sam" });
    expect(o.app).toEqual({ corsOrigins: ["https://a.example"], apiKey: "k1", allowedHosts: ["api.example", "b.example"] });
    expect(o.model).toBe("https://models.example/m/");
    expect(o.drafter).toBe("sam");
  });

  test("fetch(request, env): the API key from env guards the API; /health stays open", async () => {
    const handler = createEdgeHandler({ model, ortWasm });
    const env = { EDGESPEC_API_KEY: "edge-key" };
    expect((await handler.fetch(new Request("http://x/v1/models"), env)).status).toBe(401);
    const ok = await handler.fetch(new Request("http://x/v1/models", { headers: { authorization: "Bearer edge-key" } }), env);
    expect(ok.status).toBe(200);
    expect((await ok.json()).data[0].id).toBe("edgespec-tiny");
    expect([200, 503]).toContain((await handler.fetch(new Request("http://x/health"), env)).status);
  });
});

/** A Deno that may not read its environment (run without --allow-env), in this Bun process, for the length of `body`. */
async function withRefusedEnv<T>(body: () => Promise<T>): Promise<T> {
  const g = globalThis as { Deno?: unknown };
  const before = g.Deno;
  g.Deno = {
    env: {
      get(name: string) {
        throw Object.assign(new Error(`Requires env access to "${name}", run again with the --allow-env flag`), { name: "NotCapable" });
      },
    },
  };
  try {
    return await body();
  } finally {
    g.Deno = before;
  }
}

const errorOf = async (r: Response) => ((await r.json()) as { error: { message: string; type: string; code: string } }).error;

describe("edge: an environment the runtime may not read fails closed", () => {
  test("Deno without --allow-env: every request is a 500 invalid_config naming --allow-env, /health a 503; logged once", async () => {
    const lines: string[] = [];
    const handler = createEdgeHandler({ model, ortWasm, app: { log: (l) => lines.push(l) } });
    await withRefusedEnv(async () => {
      // deno serve passes its connection info as the second argument: no EDGESPEC_ keys, so the process env is asked.
      const info = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5 } };
      for (const path of ["/v1/models", "/v1/models", "/"]) {
        const r = await handler.fetch(new Request(`http://x${path}`), info);
        expect(r.status).toBe(500);
        const e = await errorOf(r);
        expect(e.code).toBe("invalid_config");
        expect(e.type).toBe("server_error");
        expect(e.message).toContain("--allow-env");
        expect(e.message).toContain("EDGESPEC_API_KEY");
      }
      const health = await handler.fetch(new Request("http://x/health"), info);
      expect(health.status).toBe(503);
      expect((await health.json()).status).toBe("error");
    });
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("--allow-env");
  });

  test("env passed as fetch's second argument needs no env permission, and its key is enforced", async () => {
    const handler = createEdgeHandler({ model, ortWasm, app: { log: () => {} } });
    await withRefusedEnv(async () => {
      const env = { EDGESPEC_API_KEY: "k", EDGESPEC_MODEL_URL: "http://127.0.0.1:1/edgespec-tiny/" };
      expect((await handler.fetch(new Request("http://x/v1/models"), env)).status).toBe(401);
      expect((await handler.fetch(new Request("http://x/v1/models", { headers: { authorization: "Bearer k" } }), env)).status).toBe(200);
    });
  });

  test("edgeOptionsFromEnv: a refused read throws permission_denied instead of reading as unset", async () => {
    await withRefusedEnv(async () => {
      expect(() => edgeOptionsFromEnv({ model, ortWasm })).toThrow(/--allow-env/);
      expect(edgeOptionsFromEnv({ model, ortWasm }, { EDGESPEC_API_KEY: "k" }).app?.apiKey).toBe("k");
    });
  });
});

describe("edge: a bad setting is answered as one, not as a crash per request", () => {
  test.each([
    [{ EDGESPEC_DRAFTER: "bogus" }, ["EDGESPEC_DRAFTER", "bogus", "hybrid", "ngram"]],
    [{ EDGESPEC_MODEL_URL: "models/edgespec-small" }, ["EDGESPEC_MODEL_URL", "models/edgespec-small", "absolute URL", "https://"]],
    [{ EDGESPEC_MODEL_URL: "ftp://models.example/m/" }, ["EDGESPEC_MODEL_URL", "ftp:"]],
    [{ EDGESPEC_API_KEY: "", EDGESPEC_DRAFTER: "sam" }, ["EDGESPEC_API_KEY", "empty"]],
  ] as [Record<string, string>, string[]][])("%j: OpenAI-style 500 invalid_config naming the setting; /health 503; logged once", async (env, words) => {
    const lines: string[] = [];
    const handler = createEdgeHandler({ model, ortWasm, app: { log: (l) => lines.push(l) } });
    for (const path of ["/v1/models", "/v1/completions"]) {
      const r = await handler.fetch(new Request(`http://x${path}`, path.endsWith("completions") ? { method: "POST", body: "{}", headers: { "x-request-id": "trace-7" } } : {}), env);
      expect(r.status).toBe(500);
      expect(r.headers.get("content-type")).toContain("application/json");
      // Answered outside the app, it still carries the request id as every /v1 answer does.
      if (path.endsWith("completions")) expect(r.headers.get("x-request-id")).toBe("trace-7");
      else expect(r.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      const e = await errorOf(r);
      expect(e.code).toBe("invalid_config");
      for (const w of words) expect(e.message).toContain(w);
    }
    const health = await handler.fetch(new Request("http://x/health"), env);
    expect(health.status).toBe(503);
    expect((await health.json()).error).toContain(words[0]!);
    expect(lines.length).toBe(1);
    expect(lines[0]).not.toMatch(/\n\s+at /); // one line, no stack
  });

  test("an option the app or the service refuses (maxQueue -1) is answered the same way, and loads nothing", async () => {
    const lines: string[] = [];
    let asked = 0;
    const handler = createEdgeHandler({ model: async () => (asked++, undefined), ortWasm, maxQueue: -1, app: { log: (l) => lines.push(l) } });
    for (let i = 0; i < 2; i++) {
      const r = await handler.fetch(new Request("http://x/v1/models"), {});
      expect(r.status).toBe(500);
      expect((await errorOf(r)).message).toContain("maxQueue");
    }
    await Bun.sleep(20);
    expect(asked).toBe(0);
    expect(lines.length).toBe(1);
  });

  test("edgeOptionsFromEnv names the setting and the valid values", () => {
    expect(() => edgeOptionsFromEnv({ model, ortWasm }, { EDGESPEC_DRAFTER: "bogus" })).toThrow('EDGESPEC_DRAFTER "bogus" is not a drafter (valid: none, recycle, sam, ngram, hybrid)');
    expect(() => edgeOptionsFromEnv({ model, ortWasm, drafter: "bogus" }, {})).toThrow('the drafter option "bogus"');
    expect(() => edgeOptionsFromEnv({ model, ortWasm }, { EDGESPEC_MODEL_URL: "models/x" })).toThrow(/EDGESPEC_MODEL_URL "models\/x" is not an absolute URL/);
  });
});

describe("edge: the model's name in the API is its own", () => {
  test("edgespecModelId: the folder's last path segment (a hub URL's repo name), as `edgespec serve` names a folder", () => {
    expect(edgespecModelId(model)).toBe("edgespec-tiny");
    expect(edgespecModelId("https://models.example/m/edgespec-small/")).toBe("edgespec-small");
    expect(edgespecModelId("https://models.example/m/edgespec-small")).toBe("edgespec-small");
    expect(edgespecModelId("https://huggingface.co/org/Some-Model/resolve/main/")).toBe("Some-Model");
    expect(edgespecModelId("https://models.example/my%20model/")).toBe("my model");
    expect(edgespecModelId("https://models.example/")).toBe("edgespec");
    expect(edgespecModelId(async () => undefined)).toBe("edgespec");
  });

  test("EDGESPEC_MODEL_URL names the model in /v1/models and /v1/models/{id}; modelId still overrides", async () => {
    const env = { EDGESPEC_MODEL_URL: "http://127.0.0.1:1/models/edgespec-small/" };
    const handler = createEdgeHandler({ model, ortWasm, app: { log: () => {} } });
    const list = await (await handler.fetch(new Request("http://x/v1/models"), env)).json();
    expect(list.data[0].id).toBe("edgespec-small");
    expect((await handler.fetch(new Request("http://x/v1/models/edgespec-small"), env)).status).toBe(200);
    expect((await handler.fetch(new Request("http://x/v1/models/edgespec-tiny"), env)).status).toBe(404);
    const named = createEdgeHandler({ model, ortWasm, modelId: "mine", app: { log: () => {} } });
    expect((await (await named.fetch(new Request("http://x/v1/models"), env)).json()).data[0].id).toBe("mine");
  });
});
