/**
 * The library in a browser: the bundle (tools/build-browser.ts) loaded by a page in headless
 * Chromium opens the reference model by URL and generates plain decoding's greedy tokens, with the
 * default drafter.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePlain } from "../../src/decode/plain.ts";
import { MODEL_DIR, REPO, referenceModel, run } from "../helpers/model.ts";
import { testWhen } from "../helpers/requirements.ts";
import { type Browser, findChromium, launch } from "../server/cdp.ts";

const exe = findChromium();
const out = mkdtempSync(join(tmpdir(), "edgespec-browser-"));
const profile = mkdtempSync(join(tmpdir(), "edgespec-chromium-"));
let browser: Browser | undefined;
let server: ReturnType<typeof Bun.serve> | undefined;

// ?device=webgpu: the same on WebGPU, plain (drafter "none") and speculative both.
const PAGE = `<!doctype html><body><script type="module">
import { open } from "/dist/edgespec-browser.mjs";
try {
  const device = new URLSearchParams(location.search).get("device") ?? undefined;
  // On a software WebGPU adapter every new tree shape compiles shaders: few tokens, a fixed budget.
  const params = device ? { maxTokens: 8, stopAtEos: false, budget: 4 } : { maxTokens: 12, stopAtEos: false };
  const lm = await open({ model: new URL("/model/", location.href), device });
  const t0 = performance.now();
  const r = await lm.generate("def add(a, b):", params);
  document.body.dataset.ms = String(Math.round(performance.now() - t0));
  document.body.dataset.tokens = JSON.stringify(r.tokens);
  document.body.dataset.drafter = r.stats.drafter;
  document.body.dataset.backend = r.stats.backend;
  document.body.dataset.steps = String(r.stats.steps);
  await lm.close();
  if (device) {
    const plain = await open({ model: new URL("/model/", location.href), device, drafter: "none" });
    document.body.dataset.plain = JSON.stringify((await plain.generate("def add(a, b):", { ...params, budget: undefined })).tokens);
    await plain.close();
  }
} catch (e) {
  document.body.dataset.error = String((e && e.stack) || e);
}
document.body.dataset.done = "1";
</script></body>`;

beforeAll(async () => {
  const b = await run([`${REPO}node_modules/.bin/bun`, "tools/build-browser.ts", "--outdir", out]);
  if (b.code !== 0) throw new Error(`build-browser failed: ${b.stderr}`);
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
      const file = path.startsWith("/dist/") ? join(out, path.slice(6)) : path.startsWith("/model/") ? join(MODEL_DIR, path.slice(7)) : undefined;
      if (!file || file.includes("..")) return new Response("not found", { status: 404 });
      const f = Bun.file(file);
      return f.size > 0 ? new Response(f, { headers: { "content-type": file.endsWith(".mjs") ? "text/javascript" : file.endsWith(".wasm") ? "application/wasm" : "application/octet-stream" } }) : new Response("not found", { status: 404 });
    },
  });
  // SwiftShader's WebGPU adapter (a software fallback): `auto` must still choose wasm, `webgpu` runs on it.
  if (exe) browser = await launch(exe, profile, ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"]);
});
afterAll(async () => {
  await browser?.close();
  server?.stop(true);
  rmSync(out, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
});

// CI installs Debian's chromium (.ci/run); elsewhere the test is skipped, saying why.
testWhen(!!exe, "chromium (apt-get install chromium)")("a page imports the bundle, opens the model by URL and generates plain decoding's tokens", async () => {
  if (!browser) throw new Error(`chromium at ${exe} did not start`);
  const page = await browser.open(`http://127.0.0.1:${server!.port}/`);
  await page.waitFor(`document.body.dataset.done === "1"`, 60_000);
  expect(await page.evaluate<string | undefined>(`document.body.dataset.error`)).toBeUndefined();
  const tokens = JSON.parse(await page.evaluate<string>(`document.body.dataset.tokens`));
  const plain = await generatePlain(await referenceModel("fp32"), "def add(a, b):", { maxTokens: 12, stopAtEos: false });
  expect(tokens).toEqual(plain.tokens);
  expect(await page.evaluate<string>(`document.body.dataset.drafter`)).toBe("hybrid");
  expect(await page.evaluate<string>(`document.body.dataset.backend`)).toBe("wasm");
});

testWhen(!!exe, "chromium (apt-get install chromium)")("device webgpu: the page runs the model on the browser's WebGPU adapter; speculative tokens equal plain ones", async () => {
  if (!browser) throw new Error(`chromium at ${exe} did not start`);
  const page = await browser.open(`http://127.0.0.1:${server!.port}/?device=webgpu`);
  await page.waitFor(`document.body.dataset.done === "1"`, 120_000);
  expect(await page.evaluate<string | undefined>(`document.body.dataset.error`)).toBeUndefined();
  expect(await page.evaluate<string>(`document.body.dataset.backend`)).toBe("webgpu");
  const tokens = JSON.parse(await page.evaluate<string>(`document.body.dataset.tokens`));
  expect(JSON.parse(await page.evaluate<string>(`document.body.dataset.plain`))).toEqual(tokens);
  expect(Number(await page.evaluate<string>(`document.body.dataset.steps`))).toBeLessThan(8); // drafts were accepted
  console.log(`WebGPU (SwiftShader) in Chromium: 8 tokens, hybrid, in ${await page.evaluate<string>(`document.body.dataset.ms`)} ms`);
  const plain = await generatePlain(await referenceModel("fp32"), "def add(a, b):", { maxTokens: 8, stopAtEos: false });
  expect(tokens).toEqual(plain.tokens);
});
