import { runCli } from "../../src/cli/main.ts";
import { denoServeRuntime } from "./serve.ts";
import { denoHost } from "./host.ts";
import { optionalEnv } from "./env.ts";

declare const Deno: {
  args: string[];
  exit(code: number): never;
  stdin: { isTerminal(): boolean; readable: ReadableStream<Uint8Array> };
  stdout: { writeSync(b: Uint8Array): number };
  stderr: { writeSync(b: Uint8Array): number; isTerminal(): boolean };
};

const enc = new TextEncoder();
const write = (w: { writeSync(b: Uint8Array): number }) => (t: string) => {
  const bytes = enc.encode(t);
  try {
    for (let off = 0; off < bytes.length; ) off += w.writeSync(bytes.subarray(off));
  } catch (e) {
    // The reader left (`… | head`): end quietly, as Unix tools do; nobody is reading.
    if ((e as Error).name === "BrokenPipe") Deno.exit(0);
    throw e;
  }
};
// Piped input is the prompt (`echo … | edgespec generate`); nothing is read from a terminal.
const stdin = async () => (Deno.stdin.isTerminal() ? undefined : await new Response(Deno.stdin.readable).text());
async function* lines(): AsyncIterable<string> {
  let rest = "";
  const decoder = new TextDecoder();
  const reader = Deno.stdin.readable.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const parts = (rest + decoder.decode(r.value, { stream: true })).split("\n");
    rest = parts.pop()!;
    for (const line of parts) yield line.replace(/\r$/, "");
  }
  if (rest) yield rest;
}
const code = await runCli(denoHost, Deno.args, { out: write(Deno.stdout), err: write(Deno.stderr), debug: optionalEnv("EDGESPEC_DEBUG") === "1", stdin, lines, interactive: Deno.stdin.isTerminal(), progressBar: Deno.stderr.isTerminal() }, { serve: denoServeRuntime });
Deno.exit(code);
