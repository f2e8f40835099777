/**
 * Serving on Deno: Deno.serve with the app's fetch (no idle timeout cuts a waiting request).
 * Importing this module registers it for `edgespec serve`; running it directly
 * (`deno run -A adapters/deno/serve.ts`) is `edgespec serve` on Deno.
 */
import { runCli } from "../../src/cli/main.ts";
import { type FetchHandler, type Listening, type ServeRuntime, signalGate } from "../../src/server/runtime.ts";
import { webWorkerEndpoint } from "../worker/web.ts";
import { denoHost } from "./host.ts";
import { guardedEnv, optionalEnv } from "./env.ts";

interface DenoServer {
  addr: { hostname: string; port: number };
  shutdown(): Promise<void>;
  finished: Promise<void>;
}

declare const Deno: {
  serve(opts: { hostname: string; port: number; onListen?: (addr: unknown) => void }, handler: FetchHandler): DenoServer;
  addSignalListener(sig: "SIGINT" | "SIGTERM", fn: () => void): void;
  removeSignalListener(sig: "SIGINT" | "SIGTERM", fn: () => void): void;
  args: string[];
  exit(code: number): never;
  stdout: { writeSync(b: Uint8Array): number };
  stderr: { writeSync(b: Uint8Array): number };
};

/**
 * Deno 2 (without --unstable-no-legacy-abort) warns once per process, by console.warn, that
 * request.signal also aborts after a successful response ("Deno.serve: request.signal aborts on
 * successful responses (legacy behavior) …"), as soon as a handler has read the signal. The server
 * must read it: it is the only way to learn that a client left while its request waits in the
 * queue or generates (the handler's `info.completed` settles only once a response has been
 * returned; Deno.serve has no option for this, only that runtime flag). The notice is not for
 * edgespec: each request's listener is removed when its work ends, before the response is sent,
 * so the abort after a success reaches no one. That one notice is dropped; every other warning
 * passes.
 */
const LEGACY_ABORT_NOTICE = "Deno.serve: request.signal aborts on successful responses";
let noticeFiltered = false;
function dropLegacyAbortNotice(): void {
  if (noticeFiltered) return;
  noticeFiltered = true;
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith(LEGACY_ABORT_NOTICE)) return;
    warn.apply(console, args);
  };
}

export async function listen(fetch: FetchHandler, opts: { hostname: string; port: number }): Promise<Listening> {
  dropLegacyAbortNotice();
  // onListen is replaced so Deno prints nothing: the CLI says where it listens.
  const server = Deno.serve({ hostname: opts.hostname, port: opts.port, onListen: () => {} }, fetch);
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));
  void server.finished.then(() => done());
  const close = async ({ graceful = false }: { graceful?: boolean } = {}) => {
    if (graceful) {
      await server.shutdown(); // no new connections; open requests run to their end
      return;
    }
    gate.detach();
    // Deno's shutdown always waits for open requests: the server counts as stopped now, and the
    // process exit that follows ends what is left.
    void server.shutdown();
    done();
  };
  const gate = signalGate((s, h) => Deno.addSignalListener(s, h), (s, h) => Deno.removeSignalListener(s, h), () => void close());
  return { hostname: server.addr.hostname, port: server.addr.port, close, closed, stopRequested: gate.stopRequested };
}

export const denoServeRuntime: ServeRuntime = { listen, env: guardedEnv, modelWorker: () => webWorkerEndpoint(new URL("./model-worker.ts", import.meta.url), { terminate: false }) };

if (import.meta.main) {
  const enc = new TextEncoder();
  const write = (w: { writeSync(b: Uint8Array): number }) => (t: string) => {
    const bytes = enc.encode(t);
    for (let off = 0; off < bytes.length; ) off += w.writeSync(bytes.subarray(off));
  };
  const code = await runCli(denoHost, ["serve", ...Deno.args], { out: write(Deno.stdout), err: write(Deno.stderr), debug: optionalEnv("EDGESPEC_DEBUG") === "1" }, { serve: denoServeRuntime });
  Deno.exit(code);
}
