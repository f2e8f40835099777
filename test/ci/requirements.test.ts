/**
 * The gate for tests that need something outside the repository: skipped (and saying why) on a
 * machine without it, a failure under CI, where `.ci/run` installs everything and sets CI=1.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, run } from "../helpers/model.ts";

const GATE = `import { testWhen } from ${JSON.stringify(`${REPO}test/helpers/requirements.ts`)};
testWhen(false, "a thing that is missing")("needs the thing", () => {});
testWhen(true, "a thing that is here")("has the thing", () => {});
`;

async function runGate(ci: string): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-gate-"));
  try {
    writeFileSync(join(dir, "gate.test.ts"), GATE);
    const p = Bun.spawn([`${REPO}node_modules/.bin/bun`, "test", "./gate.test.ts"], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, CI: ci } });
    const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, out: o + e };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("requirement gate", () => {
  test("without CI a missing requirement is a visible skip with its reason", async () => {
    const r = await runGate("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("skipped: a thing that is missing");
    expect(r.out).toMatch(/1 pass/);
  });

  test("under CI a missing requirement fails the run", async () => {
    const r = await runGate("1");
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("requirement missing under CI: a thing that is missing");
  });

  test(".ci/run sets CI and installs every requirement the gated tests name", () => {
    const ci = readFileSync(`${REPO}.ci/run`, "utf8");
    expect(ci).toMatch(/^export CI=1$/m);
    for (const pkg of ["mesa-vulkan-drivers", "rustc", "cargo", "libstd-rust-dev-wasm32", "lld-14", "chromium"]) expect(ci).toContain(` ${pkg}`);
  });
});
