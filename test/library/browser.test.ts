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

const PAGE = `<!doctype html><body><script type="module">
import { open } from "/dist/edgespec-browser.mjs";
try {
  const lm = await open({ model: new URL("/model/", location.href) });
  const r = await lm.generate("def add(a, b):", { maxTokens: 12, stopAtEos: false });
  document.body.dataset.tokens = JSON.stringify(r.tokens);
  document.body.dataset.drafter = r.stats.drafter;
  document.body.dataset.backend = r.stats.backend;
  await lm.close();
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
  if (exe) browser = await launch(exe, profile);
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
