/**
 * The playground page in headless Chromium: it streams a completion, colours the text that came
 * from accepted drafts by drafter, and shows tokens/s and mean accepted length. The screenshot is
 * saved to .artifacts/server/playground.png (gitignored) for people to look at.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../helpers/model.ts";
import { testWhen } from "../helpers/requirements.ts";
import { type Browser, findChromium, launch } from "./cdp.ts";
import { Hono } from "hono";
import { listen } from "../../adapters/bun/serve.ts";
import { createApp } from "../../src/server/app.ts";
import { MODEL_ID, postJson, startServer, type TestServer } from "./helpers.ts";

const exe = findChromium();
let server: TestServer;
let browser: Browser | undefined;
const profile = mkdtempSync(join(tmpdir(), "edgespec-chromium-"));

beforeAll(async () => {
  server = await startServer({ defaultDrafter: "replay", budget: 8 }, {}, "fp32");
  if (exe) browser = await launch(exe, profile);
});
afterAll(async () => {
  await browser?.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
});

// CI installs Debian's chromium (.ci/run); elsewhere the test is skipped, saying why.
testWhen(!!exe, "chromium (apt-get install chromium)")("playground: streamed text highlighted by drafter, live figures, screenshot", async () => {
  if (!browser) throw new Error(`chromium at ${exe} did not start`);
  const prompt = "def fibonacci(n):";
  const body = { model: MODEL_ID, prompt, max_tokens: 60, temperature: 0, ignore_eos: true };
  const plain = (await (await postJson(`${server.url}/v1/completions`, body)).json()).choices[0].text as string;
  // Fill the replay drafter's memory, so the page's request is drafted from it.
  await postJson(`${server.url}/v1/completions`, { ...body, drafter: "replay" });

  const page = await browser.open(`${server.url}/?autorun=1&max_tokens=60&drafter=replay&prompt=${encodeURIComponent(prompt)}`);
  await page.waitFor(`document.body.dataset.done === "1"`);
  expect(await page.evaluate<string>(`document.getElementById("err").textContent`)).toBe("");
  const generated = await page.evaluate<string>(`[...document.querySelectorAll("#out span:not(.prompt)")].map((s) => s.textContent).join("")`);
  expect(generated).toBe(plain);
  const highlighted = await page.evaluate<number>(`document.querySelectorAll("#out span.src-replay").length`);
  expect(highlighted).toBeGreaterThan(10);
  expect(await page.evaluate<string>(`document.getElementById("legend").textContent`)).toContain("replay");
  const tps = Number(await page.evaluate<string>(`document.getElementById("tps").textContent`));
  const mal = Number(await page.evaluate<string>(`document.getElementById("mal").textContent`));
  expect(tps).toBeGreaterThan(0);
  expect(mal).toBeGreaterThan(1);
  const png = await page.screenshot();
  expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
  const dir = join(REPO, ".artifacts", "server");
  mkdirSync(dir, { recursive: true });
  await Bun.write(join(dir, "playground.png"), png);
});

testWhen(!!exe, "chromium (apt-get install chromium)")("playground mounted under a prefix in another Hono app: its requests go to the mounted API", async () => {
  if (!browser) throw new Error(`chromium at ${exe} did not start`);
  const parent = new Hono();
  parent.get("/", (c) => c.text("the host app"));
  parent.route("/llm", createApp({ engine: server.engine }));
  const mounted = await listen(parent.fetch, { hostname: "127.0.0.1", port: 0 });
  try {
    const base = `http://127.0.0.1:${mounted.port}`;
    expect(await (await fetch(`${base}/`)).text()).toBe("the host app");
    const body = { model: MODEL_ID, prompt: "def add(a, b):", max_tokens: 12, temperature: 0 };
    const plain = (await (await postJson(`${base}/llm/v1/completions`, body)).json()).choices[0].text as string;
    // Hono routes a mounted app's "/" at "/llm" only (strict routing); the app serves "/llm/" too.
    for (const page of ["/llm", "/llm/"]) {
      const tab = await browser.open(`${base}${page}?autorun=1&max_tokens=12&drafter=none&prompt=${encodeURIComponent(body.prompt)}`);
      await tab.waitFor(`document.body.dataset.done === "1"`);
      expect(await tab.evaluate<string>(`document.getElementById("err").textContent`)).toBe("");
      expect(await tab.evaluate<string>(`document.getElementById("model").textContent`)).toBe(MODEL_ID);
      expect(await tab.evaluate<string>(`[...document.querySelectorAll("#out span:not(.prompt)")].map((s) => s.textContent).join("")`)).toBe(plain);
    }
  } finally {
    await mounted.close();
  }
});

test("mounted under a prefix: the playground answers at the prefix with and without a trailing slash, behind the same key; other slashed paths stay 404", async () => {
  const parent = new Hono();
  parent.route("/llm", createApp({ engine: server.engine, options: { apiKey: "k" } }));
  const key = { headers: { authorization: "Bearer k" } };
  for (const page of ["/llm", "/llm/"]) {
    const res = await parent.request(page, key);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect((await parent.request(page)).status).toBe(401);
  }
  // (Mounted, a miss is the host app's own 404, not this app's.)
  for (const other of ["/llm//", "/llm/health/", "/llm/v1/models/"]) expect((await parent.request(other, key)).status).toBe(404);
  // Served alone, "/" is the playground's own route and nothing else changes.
  const alone = createApp({ engine: server.engine });
  expect((await alone.request("/")).status).toBe(200);
  const miss = await alone.request("//");
  expect(miss.status).toBe(404);
  expect((await miss.json()).error.code).toBe("not_found");
});
