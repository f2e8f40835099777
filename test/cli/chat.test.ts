/**
 * `edgespec chat` on piped input (Bun and Deno): each line is answered through the chat template
 * with a figures line, /reset forgets the conversation (the next answer is a fresh one's), /exit
 * leaves before later lines.
 */
import { describe, expect, test } from "bun:test";
import { BIN, MODEL_DIR, REPO } from "../helpers/model.ts";

const FLAGS = ["chat", "--model", MODEL_DIR, "--max-tokens", "8", "--temperature", "0"];

async function chat(cmd: readonly string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([...cmd, ...FLAGS], { cwd: REPO, stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_RUNTIME_DIR: "/tmp" } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

const figures = (stderr: string) => stderr.split("\n").filter((l) => /^\(\d+ tokens, [\d.]+ tok\/s, [\d.]+ tokens\/step\)$/.test(l));

describe("edgespec chat", () => {
  for (const runtime of ["bun", "deno"] as const) {
    test(`${runtime}: answers each line, /reset starts afresh, /exit leaves`, async () => {
      const fresh = await chat(BIN[runtime], "what is a list?\n");
      const reset = await chat(BIN[runtime], "hello\n/reset\nwhat is a list?\n/exit\nnever read\n");
      for (const r of [fresh, reset]) expect(r.code).toBe(0);
      expect(figures(fresh.stderr).length).toBe(1);
      expect(figures(reset.stderr).length).toBe(2); // "never read" came after /exit
      expect(reset.stderr).toContain("(conversation reset)");
      // Answers are "\n"-terminated; the one after /reset is the fresh conversation's answer.
      expect(reset.stdout.endsWith(fresh.stdout)).toBe(true);
      expect(fresh.stdout.trim().length).toBeGreaterThan(0);
    }, 120_000);
  }
});
