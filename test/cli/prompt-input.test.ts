/**
 * Where generate's prompt comes from: --prompt, the first bare argument, or piped standard input
 * (the same text each way, on Bun and Deno); and the small courtesies: --version, -h.
 */
import { describe, expect, test } from "bun:test";
import pkg from "../../package.json";
import { BIN, MODEL_DIR, REPO } from "../helpers/model.ts";

const FLAGS = ["--model", MODEL_DIR, "--max-tokens", "8", "--drafter", "none", "--json"];

async function cli(cmd: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, { cwd: REPO, stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_RUNTIME_DIR: "/tmp" } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describe("generate's prompt", () => {
  for (const runtime of ["bun", "deno"] as const) {
    test(`${runtime}: --prompt, a bare argument and piped input give the same tokens`, async () => {
      const prompt = "def add(a, b):\n";
      const flag = await cli([...BIN[runtime], "generate", ...FLAGS, "--prompt", prompt]);
      const bare = await cli([...BIN[runtime], "generate", ...FLAGS, prompt]);
      const piped = await cli([...BIN[runtime], "generate", ...FLAGS], prompt);
      for (const r of [flag, bare, piped]) expect(r.code).toBe(0);
      const tokens = (r: { stdout: string }) => JSON.parse(r.stdout).tokens;
      expect(tokens(flag).length).toBe(8);
      expect(tokens(bare)).toEqual(tokens(flag));
      expect(tokens(piped)).toEqual(tokens(flag));
    });
  }
});

describe("courtesies", () => {
  test("--version prints package.json's version; short flags; -h is --help", async () => {
    const v = await cli([...BIN.bun, "--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`edgespec ${pkg.version}`);
    const short = await cli([...BIN.bun, "generate", "-m", MODEL_DIR, "-n", "8", "-d", "none", "-t", "0", "--json", "def add(a, b):\n"]);
    const long = await cli([...BIN.bun, "generate", ...FLAGS, "--temperature", "0", "--prompt", "def add(a, b):\n"]);
    expect(short.code).toBe(0);
    expect(JSON.parse(short.stdout).tokens).toEqual(JSON.parse(long.stdout).tokens);
    const unknown = await cli([...BIN.bun, "generate", "-z", "1", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown flag -z (valid: -m (--model)");
    const h = await cli([...BIN.bun, "generate", "-h"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("usage: edgespec generate [flags] [PROMPT]");
  });
});
