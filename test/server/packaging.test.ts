/**
 * The single executable (bun build --compile) run from an empty folder with nothing beside it, and
 * the esbuild edge bundle served by `deno serve` from a folder holding only the bundle and its
 * assets: each answers a request.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import OpenAI from "openai";
import { REPO, run } from "../helpers/model.ts";
import { MODEL_ID, postJson, waitFor } from "./helpers.ts";
import { exercise, type Spawned, spawnServer } from "./processes.ts";

const BUN = `${REPO}node_modules/.bin/bun`;
const dirs: string[] = [];
const running: Spawned[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "edgespec-pkg-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const s of running) s.proc.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("single binary", () => {
  test("built, then run from an empty folder: generate prints text, serve answers the openai client", async () => {
    const build = tempDir();
    const b = await run([BUN, "tools/build-binary.ts", "--outfile", join(build, "edgespec")]);
    expect(b.code).toBe(0);
    // An empty folder far from the repo: only the executable is there.
    const empty = tempDir();
    cpSync(join(build, "edgespec"), join(empty, "edgespec"));
    expect(readdirSync(empty)).toEqual(["edgespec"]);
    const exe = join(empty, "edgespec");
    const gen = Bun.spawnSync([exe, "generate", "--prompt", "def f(x):", "--max-tokens", "6", "--drafter", "none", "--json"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    expect(gen.exitCode).toBe(0);
    const out = JSON.parse(gen.stdout.toString());
    expect(out.tokens.length).toBe(6);
    expect(out.stats.backend).toBe("wasm");
    // A model folder named by a relative path that climbs ("../../work/..."), as a user types one.
    const climbing = relative(empty, join(REPO, "models", "edgespec-tiny"));
    expect(climbing.startsWith("..")).toBe(true);
    const fromDisk = Bun.spawnSync([exe, "generate", "--model", climbing, "--prompt", "def f(x):", "--max-tokens", "6", "--drafter", "none", "--json"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    expect(fromDisk.stderr.toString()).not.toContain("error");
    expect(JSON.parse(fromDisk.stdout.toString()).text).toBe(out.text);
    // bench runs from the binary alone too: its prompt suite is embedded.
    const bench = Bun.spawnSync([exe, "bench", "--limit", "1", "--repeats", "1", "--max-tokens", "8", "--drafters", "ngram", "--json"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    expect(bench.exitCode).toBe(0);
    expect(JSON.parse(bench.stdout.toString()).meanSpeedup.ngram).toBeGreaterThan(0);
    // --help names only the model it embeds (it listed edgespec-small, which it cannot load by name),
    // and asking for the other by name says what it ships and that a folder path is needed.
    const help = Bun.spawnSync([exe, "generate", "--help"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toMatch(/--model .*shipped model \(edgespec-tiny\) \(default edgespec-tiny\)\n/);
    expect(help.stdout.toString()).not.toContain("edgespec-small");
    const small = Bun.spawnSync([exe, "generate", "--model", "edgespec-small", "x"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    expect(small.exitCode).toBe(1);
    expect(small.stderr.toString()).toBe("edgespec: error: model directory not found: edgespec-small (this build ships edgespec-tiny; give another model's folder as a path)\n");
    // --device cpu: the binary cannot load onnxruntime-node from the disk, so the native loader's
    // "npm install onnxruntime-node" advice would not help; the error says what does.
    const cpu = Bun.spawnSync([exe, "generate", "--device", "cpu", "x"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    expect(cpu.exitCode).toBe(1);
    expect(cpu.stderr.toString().trim().split("\n").at(-1)).toBe("edgespec: error: --device cpu needs onnxruntime-node, which the single binary cannot load: use --device wasm, or edgespec from npm with onnxruntime-node@1.30.0 installed");
    const s = await spawnServer([exe, "serve", "--host", "127.0.0.1", "--port", "0"], empty);
    running.push(s);
    // The embedded drafter kernels were found and instantiated, in the embedded model worker.
    expect(s.stderr()).toContain("drafter kernels: wasm, model in a worker");
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const drafted = await client.completions.create({ model: MODEL_ID, prompt: "def f(x):", max_tokens: 6, temperature: 0 });
    expect(drafted.usage!.completion_tokens).toBe(6);
    // Plain decoding: the same text as `generate --drafter none` (same prompt encoding, greedy).
    const plain = await postJson(`${s.url}/v1/completions`, { model: MODEL_ID, prompt: "def f(x):", max_tokens: 6, temperature: 0, drafter: "none" });
    expect((await plain.json()).choices[0].text).toBe(out.text);
    s.proc.kill("SIGTERM");
    expect(await s.proc.exited).toBe(0);
  });
});

describe("edge bundle", () => {
  test("esbuild bundle + assets, copied alone into a folder, serves the openai client under `deno serve`", async () => {
    const build = tempDir();
    const b = await run([BUN, "tools/build-edge.ts", "--outdir", build]);
    expect(b.code).toBe(0);
    const alone = tempDir();
    cpSync(build, alone, { recursive: true });
    expect(readdirSync(alone).sort()).toEqual(["edgespec-assets", "edgespec-edge.mjs"]);
    // As README says to run it: --allow-env, or the EDGESPEC_ settings could not be read.
    const s = await spawnServer(
      [`${REPO}node_modules/.bin/deno`, "serve", "--allow-read", "--allow-env", "--host", "127.0.0.1", "--port", "0", join(alone, "edgespec-edge.mjs")],
      alone,
      { ready: /Listening on http:\/\/127\.0\.0\.1:\d+/ },
    );
    running.push(s);
    // The first request starts the model load; /health is 503 until it is done.
    const first = await fetch(`${s.url}/health`);
    expect([200, 503]).toContain(first.status);
    await waitFor(async () => (await fetch(`${s.url}/health`)).status === 200, 30_000);
    await exercise(s.url);
    s.proc.kill("SIGTERM");

    // Without --allow-env the API key set in the environment cannot be read: nothing is served, rather than everything without a key.
    const closed = await spawnServer(
      [`${REPO}node_modules/.bin/deno`, "serve", "--allow-read", "--host", "127.0.0.1", "--port", "0", join(alone, "edgespec-edge.mjs")],
      alone,
      { ready: /Listening on http:\/\/127\.0\.0\.1:\d+/, env: { ...process.env, EDGESPEC_API_KEY: "secret" } },
    );
    running.push(closed);
    const refused = await fetch(`${closed.url}/v1/models`);
    expect(refused.status).toBe(500);
    expect((await refused.json()).error).toMatchObject({ code: "invalid_config", message: expect.stringContaining("--allow-env") });
    closed.proc.kill("SIGTERM");
  });
});
