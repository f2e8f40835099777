/**
 * Serving on Bun: Bun.serve with the app's fetch. Generation requests get no idle timeout (a
 * request may wait in the queue longer than Bun's default 10 s; streams also send pings); other
 * connections keep a short one. Importing this module registers it for `edgespec serve`; running
 * it directly is `edgespec serve` on Bun.
 */
import { runCli } from "../../src/cli/main.ts";
import { type FetchHandler, type Listening, type ServeRuntime, signalGate } from "../../src/server/runtime.ts";
import { threadWorkerEndpoint } from "../worker/threads.ts";
import { bunHost } from "./host.ts";

export async function listen(fetch: FetchHandler, opts: { hostname: string; port: number }): Promise<Listening> {
  const server = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    idleTimeout: 30,
    fetch(req, srv) {
      if (req.method === "POST") srv.timeout(req, 0);
      return fetch(req);
    },
  });
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));
  const close = async ({ graceful = false }: { graceful?: boolean } = {}) => {
    if (!graceful) gate.detach();
    // stop(false): no new connections, open requests (streams too) run to their end.
    await server.stop(!graceful);
    done();
  };
  const gate = signalGate((s, h) => process.on(s, h), (s, h) => process.off(s, h), () => void close());
  return { hostname: server.hostname ?? opts.hostname, port: server.port ?? opts.port, close, closed, stopRequested: gate.stopRequested };
}

/** What `edgespec serve` uses on Bun; the single binary replaces the worker entry with its own. */
export const bunServeRuntime: ServeRuntime = { listen, env: (name: string) => process.env[name], modelWorker: () => threadWorkerEndpoint(new URL("./model-worker.ts", import.meta.url)) };

if (import.meta.main) {
  process.exitCode = await runCli(bunHost, ["serve", ...process.argv.slice(2)], {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    debug: process.env.EDGESPEC_DEBUG === "1",
  }, { serve: bunServeRuntime });
}
