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

describe("edgespec chat past the context", () => {
  const run = async (args: readonly string[], input: string) => {
    const p = Bun.spawn([...BIN.bun, ...FLAGS, ...args], { cwd: REPO, stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    return { code, stderr };
  };
  const long = "word ".repeat(3000);

  test("a message too long on its own is said to be, not sent to /reset (which would not help); a short one after it is answered", async () => {
    const r = await run([], `${long}\nhello\n`);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("(this message does not fit the model's context of 1024 tokens: send a shorter one)");
    expect(r.stderr).not.toContain("/reset");
    expect(figures(r.stderr).length).toBe(1);
  }, 60_000);

  test("a --system message that leaves no room is refused at once (every message, /reset too, would fail)", async () => {
    const r = await run(["--system", long], "hello\n/reset\nhello\n");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^edgespec: error: --system: the system message has \d+ tokens but the context holds 1024$/);
    expect(figures(r.stderr).length).toBe(0);
  }, 60_000);
});
