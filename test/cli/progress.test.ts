/**
 * Load progress on the CLI: a bar redrawn in place on a terminal (driven here through a
 * pseudo-terminal by util-linux `script`), plain lines with no carriage returns elsewhere.
 */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { progressBar, progressPrinter } from "../../src/cli/progress.ts";
import type { ProgressEvent } from "../../src/setup.ts";
import { BIN, MODEL_DIR, REPO } from "../helpers/model.ts";

const events: ProgressEvent[] = [
  { phase: "note", message: "loading model.onnx on wasm…" },
  { phase: "read", message: "", file: "/m/onnx/model.onnx", loadedBytes: 1 << 20, totalBytes: 4 << 20 },
  { phase: "read", message: "", file: "/m/onnx/model.onnx_data", loadedBytes: 4 << 20, totalBytes: 4 << 20 },
  { phase: "session", message: "building the wasm session…" },
  { phase: "note", message: "loaded in 0.4s" },
  { phase: "ready", message: "ready" },
];

function render(progressBarOn: boolean): string {
  let err = "";
  const p = progressPrinter({ out: () => {}, err: (t) => (err += t), progressBar: progressBarOn });
  for (const e of events) p.show(e);
  p.done();
  return err;
}

describe("progress on the CLI", () => {
  test("the bar: filled in proportion, percent and MiB", () => {
    expect(progressBar(1 << 20, 4 << 20)).toBe(`[${"#".repeat(6)}${"-".repeat(18)}]  25%  1.0/4.0 MiB`);
    expect(progressBar(4 << 20, 4 << 20)).toContain("100%");
    expect(progressBar(0, 0)).toContain("  0%");
  });

  test("on a terminal: one line redrawn in place, notes kept above it, cleared at the end", () => {
    const out = render(true);
    expect(out).toContain("\r\x1b[Kloading [######------------------]  25%  1.0/4.0 MiB  model.onnx");
    expect(out).toContain("100%  4.0/4.0 MiB  model.onnx_data");
    expect(out).toContain("\r\x1b[Kbuilding the wasm session…\r\x1b[Kloaded in 0.4s\n");
    expect(out.startsWith("loading model.onnx on wasm…\n")).toBe(true);
    expect(out.endsWith("loaded in 0.4s\n")).toBe(true); // nothing left drawn after the last note
  });

  test("elsewhere: the notes only, one per line", () => {
    expect(render(false)).toBe("loading model.onnx on wasm…\nloaded in 0.4s\n");
  });

  test("the CLI draws the bar on a pseudo-terminal and not into a pipe", async () => {
    const size = (statSync(`${MODEL_DIR}/onnx/model.onnx`).size / 2 ** 20).toFixed(1);
    const argv = [...BIN.bun, "generate", "-m", MODEL_DIR, "--dtype", "fp32", "-n", "4", "-d", "none", "def f(x):"];
    const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    // script -q: no banner; -e: its exit code is the command's; the log goes to /dev/null, the terminal's output to stdout.
    const tty = Bun.spawn(["script", "-qec", quoted, "/dev/null"], { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [ttyOut, ttyCode] = await Promise.all([new Response(tty.stdout).text(), tty.exited]);
    expect(ttyCode).toBe(0);
    expect(ttyOut).toContain(`\x1b[Kloading [########################] 100%  ${size}/${size} MiB  model.onnx`);
    const piped = Bun.spawn(argv, { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [pipedErr, pipedCode] = await Promise.all([new Response(piped.stderr).text(), piped.exited]);
    expect(pipedCode).toBe(0);
    expect(pipedErr).not.toContain("\r");
    expect(pipedErr).toContain("loaded in");
  });
});
