/**
 * edgespec as a library, the way a user gets it: `npm pack`, unpacked into an empty folder's
 * node_modules (its dependencies linked from this checkout: no registry needed), then imported as
 * "edgespec" from Node ESM, Bun and Deno: open() the shipped reference model, stream 16 tokens.
 * TypeScript type-checks a consumer against the shipped declarations (without skipLibCheck, with and
 * without exactOptionalPropertyTypes), and rejects a wrong one (a string where a number goes, a
 * device or dtype that does not exist).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json";
import { REPO, run } from "../helpers/model.ts";

const BUN = `${REPO}node_modules/.bin/bun`;
let dir = "";

const SCRIPT = `import { open } from "edgespec";
import { edgespecApp } from "edgespec/hono";
const lm = await open({ model: "edgespec-tiny", device: "wasm", drafter: "hybrid" });
let pieces = 0;
let text = "";
for await (const t of lm.stream("def add(a, b):", { maxTokens: 16, stopAtEos: false })) { pieces++; text += t; }
const r = await lm.generate("def add(a, b):", { maxTokens: 16, stopAtEos: false });
const res = await edgespecApp(lm).request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "edgespec-tiny", prompt: "def add(a, b):", max_tokens: 16, ignore_eos: true }) });
const served = (await res.json()).choices[0].text;
await lm.close();
console.log(JSON.stringify({ pieces, text, same: text === r.text, tokens: r.tokens.length, backend: r.stats.backend, served: served === r.text }));
`;

beforeAll(async () => {
  const b = await run(["npm", "run", "build"]);
  if (b.code !== 0) throw new Error(`build failed: ${b.stderr}`);
  dir = mkdtempSync(join(tmpdir(), "edgespec-lib-"));
  const p = await run(["npm", "pack", "--pack-destination", dir]);
  if (p.code !== 0) throw new Error(`npm pack failed: ${p.stderr}`);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
  const modules = join(dir, "app", "node_modules");
  mkdirSync(join(modules, "edgespec"), { recursive: true });
  const x = await run(["tar", "-xzf", join(dir, tarball), "-C", join(modules, "edgespec"), "--strip-components=1"]);
  if (x.code !== 0) throw new Error(`tar failed: ${x.stderr}`);
  // The package's dependencies, as an install would place them (hoisted, with theirs).
  for (const name of readdirSync(join(REPO, "node_modules"))) {
    if (name === "edgespec" || name.startsWith(".")) continue;
    symlinkSync(join(REPO, "node_modules", name), join(modules, name));
  }
  writeFileSync(join(dir, "app", "package.json"), JSON.stringify({ name: "app", type: "module", private: true }));
  writeFileSync(join(dir, "app", "main.mjs"), SCRIPT);
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function check(stdout: string) {
  const out = JSON.parse(stdout.trim().split("\n").at(-1)!);
  expect(out.tokens).toBe(16);
  expect(out.pieces).toBeGreaterThan(1);
  expect(out.same).toBe(true);
  expect(out.served).toBe(true); // edgespecApp from "edgespec/hono" serves the same greedy text // streamed text = generate()'s text
  expect(out.backend).toBe("wasm");
}

describe("the packed library", () => {
  test("ships the built entries and declarations, no binary", () => {
    const files = readdirSync(join(dir, "app", "node_modules", "edgespec", "dist"));
    expect(files.sort()).toEqual(["edgespec-deno.mjs", "edgespec-node-worker.mjs", "edgespec-node.mjs", "edgespec.mjs", "types"]);
    expect(pkg.exports["."].default).toBe("./dist/edgespec.mjs");
  });

  test("the packed CLI's bench finds its prompt suite (bench/prompts.json ships)", async () => {
    const pkgDir = join(dir, "app", "node_modules", "edgespec");
    const r = await run(["node", join(pkgDir, "dist", "edgespec-node.mjs"), "bench", "--model", "edgespec-tiny", "--limit", "1", "--repeats", "1", "--max-tokens", "4", "--drafters", "hybrid"], {}, join(dir, "app"));
    expect(r.stderr).not.toContain("prompt suite not found");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mean speedup over workloads/);
  }, 120_000);

  for (const [runtime, cmd] of [
    ["Node", ["node", "main.mjs"]],
    ["Bun", [BUN, "main.mjs"]],
    ["Deno (npm package from node_modules)", [`${REPO}node_modules/.bin/deno`, "run", "-A", "main.mjs"]],
  ] as const) {
    test(`${runtime}: import { open } from "edgespec", stream 16 tokens`, async () => {
      const r = await run([...cmd], {}, join(dir, "app"));
      if (r.code !== 0) throw new Error(`${runtime} failed: ${r.stderr}`);
      check(r.stdout);
    }, 120_000);
  }

  test("Bun reaches the lower levels through the exported source paths", async () => {
    const app = join(dir, "app");
    writeFileSync(join(app, "deep.mjs"), `import { loadModel } from "edgespec/src/model/load.ts";\nimport { bunHost } from "edgespec/adapters/bun/host.ts";\nconsole.log(typeof loadModel, typeof bunHost.readFile);\n`);
    const r = await run([BUN, "deep.mjs"], {}, app);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("function function");
  });

  test("TypeScript checks a consumer against the shipped declarations, and rejects a wrong call", async () => {
    const app = join(dir, "app");
    const config = (exactOptionalPropertyTypes: boolean) =>
      writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, exactOptionalPropertyTypes, noEmit: true, skipLibCheck: false, types: [] }, files: ["ok.ts"] }));
    writeFileSync(join(app, "ok.ts"), `import { open, type LM, type SpecResult } from "edgespec";\nconst lm: LM = await open({ model: "edgespec-tiny", dtype: "fp32", device: "wasm" });\nconst r: SpecResult = await lm.generate("x", { maxTokens: 2, temperature: 0 });\nconst n: number = r.stats.meanAcceptedLength;\nexport { n };\n`);
    const tsc = `${REPO}node_modules/.bin/tsc`;
    // The declarations themselves are checked (skipLibCheck: false), under the strictest optional-property rule too.
    for (const exact of [false, true]) {
      config(exact);
      const ok = await run([tsc, "-p", "tsconfig.json"], {}, app);
      expect(ok.stdout + ok.stderr).toBe("");
      expect(ok.code).toBe(0);
    }
    writeFileSync(join(app, "ok.ts"), `import { open } from "edgespec";\nconst lm = await open();\nawait lm.generate("x", { maxTokens: "two" });\nawait open({ device: "gpu" });\nawait open({ dtype: "fp64" });\n`);
    const bad = await run([tsc, "-p", "tsconfig.json"], {}, app);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/ok\.ts\(3,\d+\): error TS2322/); // maxTokens: "two" is not a number
    expect(bad.stdout).toMatch(/ok\.ts\(4,\d+\): error TS2322/); // device: "gpu" is no device
    expect(bad.stdout).toMatch(/ok\.ts\(5,\d+\): error TS2322/); // dtype: "fp64" is no dtype
  }, 120_000);
});
