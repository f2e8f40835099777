/**
 * Cold start of the single binary: process start to its first generated token and exit
 * (`generate --max-tokens 1`, the embedded default model, plain decoding), from an empty folder.
 * Issue 13's target: under 1 s. Not a test: it depends on the machine and its load.
 *
 *   npm run build:binary && bun bench/cold-start.ts [--binary dist/edgespec] [--runs 7] [--out FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({ options: { binary: { type: "string", default: "dist/edgespec" }, runs: { type: "string", default: "7" }, out: { type: "string" } } });
const exe = resolve(a.binary!);
const runs = Number(a.runs);
const empty = mkdtempSync(join(tmpdir(), "edgespec-cold-"));
const ms: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const p = Bun.spawnSync([exe, "generate", "--prompt", "def f(x):", "--max-tokens", "1", "--drafter", "none"], { cwd: empty, env: { PATH: "/usr/bin:/bin", HOME: empty } });
    ms.push(performance.now() - t0);
    if (p.exitCode !== 0) throw new Error(`${exe} failed: ${p.stderr.toString()}`);
  }
} finally {
  rmSync(empty, { recursive: true, force: true });
}
const sorted = [...ms].sort((x, y) => x - y);
const summary = { binary: a.binary, runs, medianMs: Math.round(sorted[Math.floor(runs / 2)]!), minMs: Math.round(sorted[0]!), maxMs: Math.round(sorted.at(-1)!), targetMs: 1000 };
console.log(JSON.stringify(summary, null, 2));
if (a.out) writeFileSync(a.out, `${JSON.stringify(summary, null, 2)}\n`);
