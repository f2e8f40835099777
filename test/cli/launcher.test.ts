/**
 * bin/edgespec.mjs (what `npx edgespec` runs) where it finds nothing to run: its one-line error
 * names what is missing for the runtime asked for. A copy of the launcher in an empty package,
 * so neither Bun nor dist/ is beside it.
 */
import { expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function launch(env: Record<string, string>): { code: number; stderr: string } {
  const root = mkdtempSync(join(tmpdir(), "edgespec-launcher-"));
  try {
    mkdirSync(join(root, "bin"));
    copyFileSync(join(import.meta.dir, "..", "..", "bin", "edgespec.mjs"), join(root, "bin", "edgespec.mjs"));
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "empty", type: "module" }));
    const { EDGESPEC_RUNTIME: _, ...rest } = process.env;
    const r = Bun.spawnSync(["node", join(root, "bin", "edgespec.mjs"), "--help"], { env: { ...rest, ...env }, stderr: "pipe", stdout: "pipe" });
    return { code: r.exitCode ?? -1, stderr: r.stderr.toString() };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("without Bun or the Node bundle the launcher says both are missing", () => {
  const r = launch({});
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe("edgespec: error: neither Bun (npm install with devDependencies) nor dist/edgespec-node.mjs (npm run build) is present");
});

test("with EDGESPEC_RUNTIME=node it names the bundle that runtime needs, not Bun", () => {
  const r = launch({ EDGESPEC_RUNTIME: "node" });
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe("edgespec: error: EDGESPEC_RUNTIME=node needs dist/edgespec-node.mjs (npm run build)");
});
