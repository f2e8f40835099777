/**
 * The edge handler takes its configuration from the deployment: a Workers-style `env` (fetch's
 * second argument) or the process environment, over the bundle's own options.
 */
import { describe, expect, test } from "bun:test";
import { pathToFileURL } from "node:url";
import { createEdgeHandler, edgeOptionsFromEnv } from "../../adapters/edge/handler.ts";
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
