/**
 * The repository type-checks (`npm run typecheck`: tsc over src, adapters, test, bench and tools).
 * Bun runs TypeScript without checking it, so without this a type error lands unseen, and so
 * would the checks written as types: the library's list of option names (`satisfies` in
 * src/library.ts) stays equal to GenerateParams' keys only while tsc runs.
 */
import { expect, test } from "bun:test";
import { REPO } from "../helpers/model.ts";

test("tsc finds no type error", async () => {
  const proc = Bun.spawn([`${REPO}node_modules/.bin/tsc`, "--noEmit", "-p", `${REPO}tsconfig.json`], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(`${out}${err}`.trim()).toBe("");
  expect(code).toBe(0);
}, 120_000);
