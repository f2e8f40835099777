/**
 * Every EDGESPEC_* environment variable the shipped code reads (src, adapters, the npx launcher in
 * bin) is named in README's CLI or Server part, where the options are described: EDGESPEC_DEBUG
 * and EDGESPEC_RUNTIME were read and said nowhere.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..", "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

test("README's CLI and Server parts name every EDGESPEC_ variable the code reads", () => {
  const read = new Set<string>();
  for (const file of ["src", "adapters", "bin"].flatMap(sourceFiles)) {
    for (const m of readFileSync(file, "utf8").matchAll(/EDGESPEC_[A-Z][A-Z0-9_]*/g)) read.add(m[0]);
  }
  expect(read).toContain("EDGESPEC_DEBUG");
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const usage = readme.slice(readme.indexOf("## CLI"), readme.indexOf("## How it works"));
  expect([...read].filter((name) => !new RegExp(`\\b${name}\\b`).test(usage)).sort()).toEqual([]);
});
