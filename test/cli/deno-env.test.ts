/**
 * Deno without --allow-env: a setting that only adds (EDGESPEC_DEBUG) reads as unset, so generate
 * runs; the server's API key does not, because treating "may not read it" as "not set" would drop
 * a key the operator set and answer everyone. Both entry points: the CLI and adapters/deno/serve.ts.
 */
import { expect, test } from "bun:test";
import { BIN, MODEL_DIR, REPO, run } from "../helpers/model.ts";
import { spawnServer } from "../server/processes.ts";

const DENO = BIN.deno[0]!;
const noEnv = (entry: string, ...args: string[]) => run([DENO, "run", "--allow-read", "--allow-net", `${REPO}adapters/deno/${entry}`, ...args]);

test("Deno CLI without --allow-env: generate runs (EDGESPEC_DEBUG taken as unset)", async () => {
  const r = await noEnv("cli.ts", "generate", "--model", MODEL_DIR, "--max-tokens", "3", "--drafter", "none", "--json", "def f(x):");
  expect(r.stderr).not.toMatch(/NotCapable|Uncaught/);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).tokens.length).toBe(3);
}, 60_000);

test("Deno serve without --allow-env: refused with one line naming the variable, unless the key comes as a flag", async () => {
  for (const [entry, args] of [["cli.ts", ["serve"]], ["serve.ts", []]] as const) {
    const r = await noEnv(entry, ...args, "--model", MODEL_DIR, "--host", "127.0.0.1", "--port", "0");
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe("edgespec: error: Deno may not read the environment variable EDGESPEC_API_KEY: run with --allow-env (or -A)");
  }
  const s = await spawnServer([DENO, "run", "--allow-read", "--allow-net", "--allow-sys", `${REPO}adapters/deno/serve.ts`, "--api-key", "k", "--model", MODEL_DIR, "--host", "127.0.0.1", "--port", "0"]);
  try {
    expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${s.url}/v1/models`, { headers: { authorization: "Bearer k" } })).status).toBe(200);
  } finally {
    s.proc.kill("SIGTERM");
    await s.proc.exited;
  }
}, 60_000);
