/**
 * Bad input on the CLI: one clear line on stderr, a non-zero exit, no stack trace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { runCli } from "../../src/cli/main.ts";
import { BIN, MODEL_DIR, nodeBundle, run } from "../helpers/model.ts";

let tmp = "";
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "edgespec-cli-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI on the reference model (unless `args` name one) and expects one error line. */
async function fails(args: string[], message: RegExp) {
  const pinned = args.includes("--model") || args.length === 0 ? args : [args[0]!, "--model", MODEL_DIR, ...args.slice(1)];
  const r = await run([...BIN.bun, ...pinned]);
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split("\n");
  const last = lines[lines.length - 1]!;
  expect(last).toMatch(/^edgespec: error: /);
  expect(last).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return r;
}

describe("CLI bad input", () => {
  test("a bare model name finds a shipped model; an unknown one is named", async () => {
    const r = await run([...BIN.bun, "generate", "--model", "edgespec-tiny", "--prompt", "x", "--max-tokens", "2", "--drafter", "none"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/models\/edgespec-tiny\/onnx\/model\.onnx/);
    await fails(["generate", "--model", "no-such-model", "--prompt", "x"], /model directory not found: no-such-model/);
  });
  test("a missing prediction file is named before the model loads", async () => {
    const r = await fails(["generate", "--prompt", "x", "--prediction-file", "/nonexistent/prediction.txt"], /prediction file not found: \/nonexistent\/prediction\.txt/);
    expect(r.stderr).not.toMatch(/loading/);
  });
  test("missing model directory names it", async () => {
    await fails(["generate", "--model", "/nonexistent/model", "--prompt", "x"], /model directory not found: \/nonexistent\/model/);
  });

  test("missing model file names the file", async () => {
    const dir = join(tmp, "no-onnx");
    cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
    await fails(["generate", "--model", dir, "--dtype", "q4", "--prompt", "x"], /model file not found: .*onnx\/model_q4\.onnx/);
    rmSync(join(dir, "config.json"));
    await fails(["generate", "--model", dir, "--prompt", "x"], /model file not found: .*config\.json/);
  });

  test("corrupt ONNX is reported as such", async () => {
    const dir = join(tmp, "corrupt");
    cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
    writeFileSync(join(dir, "onnx", "model.onnx"), new Uint8Array(4096).fill(0x5a));
    await fails(["generate", "--model", dir, "--dtype", "fp32", "--prompt", "x"], /corrupt or unsupported ONNX/);
  });

  test("unknown dtype and device list the valid ones", async () => {
    await fails(["generate", "--dtype", "int3", "--prompt", "x"], /unknown dtype "int3" \(valid: fp32, fp16, q8, q4, q4f16\)/);
    await fails(["generate", "--device", "tpu", "--prompt", "x"], /unknown device "tpu" \(valid: auto, wasm, webgpu, cpu\)/);
  });

  test("webgpu where there is no adapter is a clear error", async () => {
    await fails(["generate", "--device", "webgpu", "--prompt", "x"], /no WebGPU adapter on bun/);
  });

  test("a prompt longer than the context gives both numbers", async () => {
    const file = join(tmp, "long.txt");
    writeFileSync(file, "word ".repeat(3000));
    await fails(["generate", "--prompt-file", file], /prompt has \d+ tokens but the context holds 1024/);
  });

  test("usage errors: unknown flag, bad numbers, missing prompt, missing prompt file", async () => {
    await fails(["generate", "--prompt", "x", "--temprature", "1"], /unknown flag --temprature/);
    await fails(["generate", "--prompt", "x", "--max-tokens", "ten"], /--max-tokens must be a number/);
    await fails(["generate", "--prompt", "x", "--max-tokens", "0"], /--max-tokens must be an integer >= 1, got 0/);
    await fails(["generate", "--prompt", "x", "--temperature", "-2"], /--temperature must be a number >= 0 and <= 2, got -2/);
    await fails(["generate"], /give a prompt: PROMPT, --prompt TEXT, --prompt-file FILE, or pipe it/);
    await fails(["generate", "--prompt", "x", "--prompt-file", "y"], /give one prompt/);
    await fails(["generate", "one", "two"], /unexpected argument "two"/);
    // Sampling flags are checked before the model loads (no "loading" line first).
    const early = await fails(["generate", "--prompt", "x", "--presence-penalty", "3"], /--presence-penalty must be a number >= -2 and <= 2, got 3/);
    expect(early.stderr).not.toContain("loading");
    await fails(["generate", "--prompt", "x", "--min-p", "2"], /--min-p must be a number >= 0 and <= 1, got 2/);
    await fails(["generate", "--prompt-file", join(tmp, "nope.txt")], /prompt file not found/);
    await fails(["frobnicate"], /unknown command "frobnicate"/);
    // Checked as given, before the runtime's thread pool is touched (it said "already set to 1 thread").
    await fails(["generate", "--prompt", "x", "--threads", "0"], /--threads must be an integer >= 1 and <= 256, got 0/);
    const state = await fails(["generate", "--prompt", "x", "--recycle-state", "/nonexistent/dir/state.bin"], /--recycle-state: directory not found: \/nonexistent\/dir$/);
    expect(state.stderr).not.toContain("loading");
    // A folder, or a drafter that keeps no table, is refused before the model loads: a folder was
    // found only at the save after the run (EBUSY, a stray temp file left), and a drafter without
    // the table ignored a file that did not exist yet but refused one that did.
    const folder = await fails(["generate", "--prompt", "x", "--recycle-state", tmp], new RegExp(`--recycle-state: ${tmp} is a directory; give a file$`));
    expect(folder.stderr).not.toContain("loading");
    for (const drafter of ["none", "sam", "ngram"]) {
      const keeps = await fails(["generate", "--prompt", "x", "--drafter", drafter, "--recycle-state", join(tmp, "absent.bin")], new RegExp(`--recycle-state: drafter "${drafter}" keeps no Token Recycling table \\(recycle and hybrid do\\)$`));
      expect(keeps.stderr).not.toContain("loading");
    }
    // A corpus that names nothing is refused before the model loads, as a missing prompt file is.
    const corpus = await fails(["generate", "--prompt", "x", "--corpus", join(tmp, "no-corpus")], new RegExp(`corpus not found: ${tmp}/no-corpus$`));
    expect(corpus.stderr).not.toContain("loading");
    await fails(["bench", "--limit", "0"], /--limit must be an integer >= 1, got 0/);
    await fails(["bench", "--repeats", "0"], /--repeats must be an integer >= 1, got 0/);
  });
});

/**
 * Exit codes: 2 = the command line is wrong (unknown command or flag, a bad value), 1 = the run
 * failed (model missing, device unavailable). Each row: args (--model pinned unless given), the
 * code, and the whole of stderr: one line.
 */
const M = ["--model", MODEL_DIR];
const EXIT_CODES: [string[], number, string][] = [
  [["frobnicate"], 2, 'unknown command "frobnicate" (valid: generate, chat, serve, bench, inspect)'],
  [["generate", ...M, "--temprature", "1", "x"], 2, "unknown flag --temprature (valid: "],
  [["generate", ...M, "-z", "1", "x"], 2, "unknown flag -z (valid: "],
  [["generate", ...M, "--prompt"], 2, "--prompt needs a value"],
  [["generate", ...M, "one", "two"], 2, 'unexpected argument "two"'],
  // Integer flags take plain decimal integers; JavaScript's Number() reads all of these.
  [["generate", ...M, "-n", "1e2", "x"], 2, '--max-tokens must be an integer, got "1e2"'],
  [["generate", ...M, "-n", "0x10", "x"], 2, '--max-tokens must be an integer, got "0x10"'],
  [["generate", ...M, "-n", "1.0", "x"], 2, '--max-tokens must be an integer, got "1.0"'],
  [["generate", ...M, "-n", " 5", "x"], 2, '--max-tokens must be an integer, got " 5"'],
  [["generate", ...M, "-n", "+5", "x"], 2, '--max-tokens must be an integer, got "+5"'],
  [["generate", ...M, "-n", "0b11", "x"], 2, '--max-tokens must be an integer, got "0b11"'],
  [["generate", ...M, "--max-tokens=5abc", "x"], 2, '--max-tokens must be a number, got "5abc"'],
  [["generate", ...M, "-n", "-3", "x"], 2, "--max-tokens must be an integer >= 1, got -3"],
  // `-n=5` is `--max-tokens=5` (it was taken for the prompt, and "x" then was a second one).
  [["generate", ...M, "-n=0", "x"], 2, "--max-tokens must be an integer >= 1, got 0"],
  [["generate", ...M, "-n=1e2", "x"], 2, '--max-tokens must be an integer, got "1e2"'],
  [["generate", ...M, "-z=1", "x"], 2, "unknown flag -z (valid: "],
  [["generate", ...M, "--seed", "99999999999999999999", "x"], 2, '--seed must be an integer from -9007199254740991 to 9007199254740991, got "99999999999999999999"'],
  [["generate", ...M, "--top-k", "1e1", "x"], 2, '--top-k must be an integer, got "1e1"'],
  [["chat", ...M, "-n", "0x10"], 2, '--max-tokens must be an integer, got "0x10"'],
  [["inspect", ...M, "--threads", "2.0"], 2, '--threads must be an integer, got "2.0"'],
  [["bench", ...M, "--repeats", "1e0"], 2, '--repeats must be an integer, got "1e0"'],
  [["generate", ...M, "--budget", "1e1", "x"], 2, '--budget must be "auto" or an integer >= 0, got "1e1"'],
  [["generate", ...M, "--budget", "0x10", "x"], 2, '--budget must be "auto" or an integer >= 0, got "0x10"'],
  // Number flags take decimals (0.7, .5, 1e-3), not hex, a sign-plus, spaces or Infinity.
  [["generate", ...M, "-t", "0x1", "x"], 2, '--temperature must be a decimal number, got "0x1"'],
  [["generate", ...M, "-t", "+0.5", "x"], 2, '--temperature must be a decimal number, got "+0.5"'],
  [["generate", ...M, "-t", "Infinity", "x"], 2, '--temperature must be a number, got "Infinity"'],
  [["generate", ...M, "--json=maybe", "x"], 2, '--json takes no value (or =true, =false), got "maybe"'],
  // Values the library checks at load are usage errors too.
  [["generate", ...M, "--dtype", "int3", "x"], 2, 'unknown dtype "int3" (valid: fp32, fp16, q8, q4, q4f16)'],
  [["inspect", ...M, "--device", "tpu"], 2, 'unknown device "tpu" (valid: auto, wasm, webgpu, cpu)'],
  [["generate", ...M, "--drafter", "foo", "x"], 2, 'unknown drafter "foo" (valid: none, recycle, sam, ngram, hybrid)'],
  // serve's and bench's ranges come from the flag table: one message shape, before anything loads.
  [["serve", ...M, "--port", "70000"], 2, "--port must be an integer >= 0 and <= 65535, got 70000"],
  [["serve", ...M, "-P", "-1"], 2, "--port must be an integer >= 0 and <= 65535, got -1"],
  [["serve", ...M, "--port", "80.5"], 2, '--port must be an integer, got "80.5"'],
  [["serve", ...M, "--max-queue", "-1"], 2, "--max-queue must be an integer >= 0, got -1"],
  [["serve", ...M, "--deadline", "-1"], 2, "--deadline must be a number >= 0, got -1"],
  [["serve", ...M, "--shutdown-grace", "-0.5"], 2, "--shutdown-grace must be a number >= 0, got -0.5"],
  [["serve", ...M, "--body-timeout", "-1"], 2, "--body-timeout must be a number >= 0, got -1"],
  // The load's checks too, though serve listens before it loads (it printed "listening on …" first).
  [["serve", ...M, "--port", "0", "--device", "tpu"], 2, 'unknown device "tpu" (valid: auto, wasm, webgpu, cpu)'],
  [["serve", ...M, "--port", "0", "--dtype", "int3"], 2, 'unknown dtype "int3" (valid: fp32, fp16, q8, q4, q4f16)'],
  [["serve", ...M, "--port", "0", "--kernels", "gpu"], 2, 'unknown kernels "gpu" (valid: auto, wasm, ts)'],
  [["bench", ...M, "--max-tokens", "0"], 2, "--max-tokens must be an integer >= 1, got 0"],
  // -n is --max-tokens on every command that has it (README's short flags): bench's too.
  [["bench", ...M, "-n", "0"], 2, "--max-tokens must be an integer >= 1, got 0"],
  // No drafter named: it ran the whole suite plain only (a bench that compares nothing).
  [["bench", ...M, "--drafters", ","], 2, '--drafters names no drafter, got "," (valid: recycle, sam, ngram, hybrid)'],
  [["bench", ...M, "--drafters="], 2, '--drafters names no drafter, got "" (valid: recycle, sam, ngram, hybrid)'],
  // Runtime failures: exit 1.
  [["generate", "--model", "/nonexistent/model", "x"], 1, "model directory not found: /nonexistent/model"],
  [["generate", ...M, "--device", "webgpu", "x"], 1, "no WebGPU adapter on bun"],
];

describe("exit codes: 2 for a wrong command line, 1 for a failed run; one line on stderr", () => {
  for (const [args, code, message] of EXIT_CODES) {
    test(`${JSON.stringify(args.join(" ").replace(` --model ${MODEL_DIR}`, ""))} exits ${code}`, async () => {
      const r = await run([...BIN.bun, ...args]);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^edgespec: error: /)]);
      expect(r.stderr.trim().slice("edgespec: error: ".length)).toStartWith(message);
      expect(r.code).toBe(code);
    }, 30_000);
  }

  test("plain decimals are still taken: -n 02, -t 1e-3, --top-p .9, --json=true", async () => {
    const r = await run([...BIN.bun, "generate", ...M, "-n", "02", "-t", "1e-3", "--top-p", ".9", "--json=true", "--drafter", "none", "x"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tokens.length).toBe(2);
  }, 30_000);

  test("-n=2 is --max-tokens=2, -t=0 is --temperature=0", async () => {
    const r = await run([...BIN.bun, "generate", ...M, "-n=2", "-t=0", "-d=none", "--json", "x"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tokens.length).toBe(2);
  }, 30_000);

  test("a bare `edgespec` is a wrong command line: the help on stderr, exit 2; --help, -h, help: on stdout, exit 0", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) };
    expect(await runCli(bunHost, [], io)).toBe(2);
    expect(out).toEqual([]);
    const help = err.join("");
    expect(help).toContain("usage: edgespec <command> [flags]");
    for (const asked of ["--help", "-h", "help"]) {
      out.length = err.length = 0;
      expect(await runCli(bunHost, [asked], io)).toBe(0);
      expect([out.join(""), err]).toEqual([help, []]);
    }
  });

  test("the help names the model a bare generate loads: the package's, or the binary's embedded one", async () => {
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: () => {} };
    expect(await runCli(bunHost, ["--help"], io)).toBe(0);
    expect(out.join("")).toContain("generate text from a prompt (default model: edgespec-small)");
    out.length = 0;
    const binary = { ...bunHost, defaultModelDir: () => "/embedded/edgespec-tiny/" };
    expect(await runCli(binary, ["--help"], io)).toBe(0);
    expect(out.join("")).toContain("generate text from a prompt (default model: edgespec-tiny)");
  });

  test("what a runtime cannot do is a failed run (1), as serve's is", async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => void err.push(t) };
    expect(await runCli(bunHost, ["chat", ...M], io)).toBe(1); // no `lines`: no standard input
    expect(err.join("")).toBe("edgespec: error: chat needs standard input, which this runtime does not give\n");
    err.length = 0;
    const readOnly = { ...bunHost, writeFile: undefined };
    expect(await runCli(readOnly, ["generate", ...M, "--recycle-state", join(tmp, "state.bin"), "x"], io)).toBe(1);
    expect(err.join("")).toBe("edgespec: error: --recycle-state: this runtime cannot write files\n");
    err.length = 0;
    expect(await runCli(bunHost, ["serve", ...M], io)).toBe(1); // no serve runtime given
    expect(err.join("")).toMatch(/^edgespec: error: serve is not available on bun/);
  });
});

test("generate with penalties: greedy speculative output equals plain output with the same flags", async () => {
  const args = ["generate", "--model", MODEL_DIR, "--prompt", "a = [1, 2, 3]\nb = [1, 2, 3]\nc = [", "--max-tokens", "24", "--device", "wasm", "--repetition-penalty", "1.3", "--frequency-penalty", "0.5", "--json"];
  const [spec, plain, base] = await Promise.all([run([...BIN.bun, ...args]), run([...BIN.bun, ...args, "--drafter", "none"]), run([...BIN.bun, ...args.slice(0, 7), "--json", "--drafter", "none"])]);
  for (const r of [spec, plain, base]) expect(r.code).toBe(0);
  const tokens = (r: { stdout: string }) => JSON.parse(r.stdout).tokens;
  expect(tokens(spec)).toEqual(tokens(plain));
  expect(tokens(plain)).not.toEqual(tokens(base));
}, 60_000);

test("a reader that leaves early (`generate … | head`) ends the CLI quietly: exit 0, no stack trace", async () => {
  for (const bin of [BIN.bun, BIN.deno]) {
    const p = Bun.spawn([...bin, "generate", "--model", MODEL_DIR, "--max-tokens", "300", "--drafter", "none", "def f(x):"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_RUNTIME_DIR: "/tmp" } });
    const reader = p.stdout.getReader();
    await reader.read(); // the first piece of text, then the pipe closes, as head's does
    await reader.cancel();
    const code = await p.exited;
    const stderr = await new Response(p.stderr).text();
    expect(stderr).not.toMatch(/EPIPE|BrokenPipe|\n\s+at /);
    expect(code).toBe(0);
  }
}, 60_000); // two runtimes start and load the model: ~4 s, over bun's 5 s default on a busy machine

test("Deno without --allow-read: the error says so and names the path, not 'model directory not found'", async () => {
  const r = await run([`${BIN.deno[0]}`, "run", "--allow-env", BIN.deno[3]!, "generate", "--model", MODEL_DIR, "--prompt", "x"]);
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim()).toBe(`edgespec: error: Deno may not read ${MODEL_DIR}: run with --allow-read (or -A)`);
});

test("serve on a port in use, or an address it cannot bind: one line and exit 1 at once, not a server loading a model it cannot serve", async () => {
  await nodeBundle();
  const { createServer } = await import("node:net");
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
  const port = String((holder.address() as { port: number }).port);
  try {
    for (const [bin, host] of [[BIN.bun, "127.0.0.1"], [BIN.node, "127.0.0.1"], [BIN.bun, "256.1.1.1"]] as const) {
      const t0 = performance.now();
      const r = await run([...bin, "serve", "--model", MODEL_DIR, "--host", host, "--port", port]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^edgespec: error: cannot listen on ${host.replaceAll(".", "\\.")}:${port}: `))]);
      expect(performance.now() - t0).toBeLessThan(20_000);
    }
  } finally {
    holder.close();
  }
}, 90_000);
