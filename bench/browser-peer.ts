/**
 * The peer on its WASM backend, where it offers one: in a browser. Headless Chromium loads one page
 * that runs, per prompt and interleaved, edgespec's browser bundle (plain decoding and the hybrid
 * drafter) and transformers.js's browser build (`generate()`, greedy), both on onnxruntime-web's
 * WASM backend with one thread (the page is not cross-origin isolated, so neither gets threads),
 * on the same model folder served over HTTP. Decode time excludes prefill on both sides (for
 * transformers.js: a 1-token generate() subtracted from an N-token one). Not a test: timings
 * depend on the machine.
 *
 *   bun bench/browser-peer.ts [--model edgespec-tiny] [--max-tokens 64] [--prompts 6] [--repeats 3]
 *
 * Prompts: the first of each workload in bench/prompts.json. Writes
 * bench/results/browser-peer-MODEL.json and .md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { parseFlags } from "../src/cli/args.ts";
import { median } from "../src/engine/curve-fit.ts";
import { findChromium, launch } from "../test/server/cdp.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const flags = parseFlags(process.argv.slice(2), {
  model: { type: "string", help: "" },
  "max-tokens": { type: "int", help: "" },
  prompts: { type: "int", help: "" },
  repeats: { type: "int", help: "" },
});
const model = (flags.model as string | undefined) ?? "edgespec-tiny";
const maxTokens = (flags["max-tokens"] as number | undefined) ?? 64;
const repeats = (flags.repeats as number | undefined) ?? 3;
const all = JSON.parse(readFileSync(`${ROOT}bench/prompts.json`, "utf8")).prompts as { workload: string; prompt: string }[];
const firstOf = [...new Map(all.map((p) => [p.workload, p])).values()];
const prompts = firstOf.slice(0, (flags.prompts as number | undefined) ?? firstOf.length);

const out = mkdtempSync(join(tmpdir(), "edgespec-peer-"));
const profile = mkdtempSync(join(tmpdir(), "edgespec-peer-chromium-"));
const exe = findChromium();
if (!exe) throw new Error("needs chromium (apt-get install chromium)");
const built = Bun.spawnSync([process.execPath, "tools/build-browser.ts", "--outdir", out], { cwd: ROOT, stderr: "pipe" });
if (built.exitCode !== 0) throw new Error(`build-browser failed: ${built.stderr}`);
await esbuild.build({
  stdin: { contents: `export { AutoModelForCausalLM, env, Tensor } from "@huggingface/transformers";`, resolveDir: ROOT, loader: "js" },
  bundle: true,
  format: "esm",
  platform: "browser",
  outfile: join(out, "tjs.mjs"),
  logLevel: "error",
});
const tjsOrt = `${ROOT}node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/`;

const PAGE = `<!doctype html><body><script type="module">
import { open } from "/dist/edgespec-browser.mjs";
import { AutoModelForCausalLM, env, Tensor } from "/dist/tjs.mjs";
const cfg = ${JSON.stringify({ model, maxTokens, repeats, prompts: prompts.map((p) => p.prompt) })};
try {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = "/models/";
  env.useBrowserCache = false;
  env.backends.onnx.wasm.numThreads = 1;
  env.backends.onnx.wasm.wasmPaths = { mjs: "/tjs-ort/ort-wasm-simd-threaded.asyncify.mjs", wasm: "/tjs-ort/ort-wasm-simd-threaded.asyncify.wasm" };
  const url = new URL("/models/" + cfg.model + "/", location.href);
  const plain = await open({ model: url, device: "wasm", dtype: "fp32", drafter: "none" });
  const tjs = await AutoModelForCausalLM.from_pretrained(cfg.model, { dtype: "fp32", device: "wasm" });
  const params = { maxTokens: cfg.maxTokens, stopAtEos: false };
  const rows = [];
  // Warm-up (untimed) on the first prompt: every side's JIT, WASM and allocator, a throwaway hybrid.
  {
    const ids = plain.model.tokenizer.encode(cfg.prompts[0], true);
    await plain.generate(ids, { ...params, maxTokens: 8 });
    const warm = await open({ model: url, device: "wasm", dtype: "fp32", drafter: "hybrid" });
    await warm.generate(ids, { ...params, maxTokens: 8 });
    await warm.close();
    await tjs.generate({ input_ids: tjsTensor(ids), attention_mask: tjsTensor(ids.map(() => 1)), max_new_tokens: 8, min_new_tokens: 8, do_sample: false });
  }
  for (let r = 0; r < cfg.repeats; r++) {
    // A fresh hybrid per pass (its request history would otherwise hold each prompt's answer from
    // the pass before); within a pass it is kept across prompts, as a server keeps it.
    const hybrid = await open({ model: url, device: "wasm", dtype: "fp32", drafter: "hybrid" });
    for (const [i, prompt] of cfg.prompts.entries()) {
      const ids = plain.model.tokenizer.encode(prompt, true);
      const p = await plain.generate(ids, params);
      const h = await hybrid.generate(ids, params);
      const inputs = { input_ids: tjsTensor(ids), attention_mask: tjsTensor(ids.map(() => 1)) };
      const once = async (n) => {
        const t0 = performance.now();
        const o = await tjs.generate({ ...inputs, max_new_tokens: n, min_new_tokens: n, do_sample: false });
        return { ms: performance.now() - t0, tokens: o.tolist()[0].slice(ids.length).map(Number) };
      };
      const first = await once(1);
      const full = await once(cfg.maxTokens);
      rows.push({ pass: r, prompt: i,
        plain: { decodeMs: p.stats.decodeMs, tokens: p.tokens },
        hybrid: { decodeMs: h.stats.decodeMs, tokens: h.tokens, mal: h.stats.meanAcceptedLength },
        tjs: { decodeMs: Math.max(0.001, full.ms - first.ms), tokens: full.tokens } });
    }
    await hybrid.close();
  }
  document.body.dataset.rows = JSON.stringify(rows);
  function tjsTensor(xs) {
    return new Tensor("int64", BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  }
} catch (e) {
  document.body.dataset.error = String((e && e.stack) || e);
}
document.body.dataset.done = "1";
</script></body>`;

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
    const file = path.startsWith("/dist/") ? join(out, path.slice(6)) : path.startsWith("/tjs-ort/") ? join(tjsOrt, path.slice(9)) : path.startsWith("/models/") ? join(ROOT, "models", path.slice(8)) : undefined;
    if (!file || file.includes("..")) return new Response("not found", { status: 404 });
    const f = Bun.file(file);
    const type = file.endsWith(".mjs") ? "text/javascript" : file.endsWith(".wasm") ? "application/wasm" : file.endsWith(".json") ? "application/json" : "application/octet-stream";
    return f.size > 0 ? new Response(f, { headers: { "content-type": type } }) : new Response("not found", { status: 404 });
  },
});
const browser = await launch(exe, profile);
try {
  const page = await browser.open(`http://127.0.0.1:${server.port}/`);
  await page.waitFor(`document.body.dataset.done === "1"`, 1_800_000);
  const error = await page.evaluate<string | undefined>(`document.body.dataset.error`);
  if (error) throw new Error(`page: ${error}`);
  type Side = { decodeMs: number; tokens: number[]; mal?: number };
  const rows = JSON.parse(await page.evaluate<string>(`document.body.dataset.rows`)) as { pass: number; prompt: number; plain: Side; hybrid: Side; tjs: Side }[];
  // Tokens/s over a pass (all prompts), decode only; the first token of each side comes with its prefill.
  const perPass = (side: "plain" | "hybrid" | "tjs") =>
    Array.from({ length: repeats }, (_, r) => {
      const xs = rows.filter((x) => x.pass === r);
      return (xs.reduce((a, x) => a + x[side].tokens.length - 1, 0) / xs.reduce((a, x) => a + x[side].decodeMs, 0)) * 1000;
    });
  const tps = { plain: perPass("plain"), hybrid: perPass("hybrid"), tjs: perPass("tjs") };
  const mismatches = { hybrid: rows.filter((x) => x.hybrid.tokens.join() !== x.plain.tokens.join()).length, tjs: rows.filter((x) => x.tjs.tokens.join() !== x.plain.tokens.join()).length };
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const summary = Object.fromEntries(Object.entries(tps).map(([k, v]) => [k, { tokS: r2(median(v)), min: r2(Math.min(...v)), max: r2(Math.max(...v)) }]));
  const chromium = Bun.spawnSync([exe, "--version"]).stdout.toString().trim();
  // Rows keep token counts, not the tokens (compared above).
  const counted = rows.map((x) => ({ ...x, plain: { ...x.plain, tokens: x.plain.tokens.length }, hybrid: { ...x.hybrid, tokens: x.hybrid.tokens.length }, tjs: { ...x.tjs, tokens: x.tjs.tokens.length } }));
  const report = { model, browser: chromium, date: new Date().toISOString(), maxTokens, repeats, prompts: prompts.map((p) => p.workload), threads: 1, summary, mismatches, rows: counted };
  writeFileSync(`${ROOT}bench/results/browser-peer-${model}.json`, JSON.stringify(report, null, 2) + "\n");
  const s = summary as Record<string, { tokS: number; min: number; max: number }>;
  const md = `In the browser (${chromium}, headless; ${report.date.slice(0, 10)}): ${model} fp32, onnxruntime-web WASM, 1 thread on both sides, ${prompts.length} prompts (the first of each workload), ${maxTokens} new tokens, greedy, ${repeats} passes interleaved per prompt; decode tokens/s per pass, median [range]. Mismatches against edgespec plain: hybrid ${mismatches.hybrid}, transformers.js ${mismatches.tjs} of ${rows.length}.

| side | decode tok/s | vs transformers.js |
| --- | --- | --- |
| transformers.js generate() | ${s.tjs!.tokS} [${s.tjs!.min}–${s.tjs!.max}] | 1x |
| edgespec plain | ${s.plain!.tokS} [${s.plain!.min}–${s.plain!.max}] | ${r2(s.plain!.tokS / s.tjs!.tokS)}x |
| edgespec hybrid | ${s.hybrid!.tokS} [${s.hybrid!.min}–${s.hybrid!.max}] | ${r2(s.hybrid!.tokS / s.tjs!.tokS)}x |
`;
  writeFileSync(`${ROOT}bench/results/browser-peer-${model}.md`, md);
  console.log(md);
} finally {
  await browser.close();
  server.stop(true);
  rmSync(out, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
