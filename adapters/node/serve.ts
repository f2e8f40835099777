/**
 * Serving on Node: @hono/node-server turns Node's http server into fetch Requests (with an
 * AbortSignal that fires on client disconnect). Importing this module registers it for
 * `edgespec serve`; running it is `edgespec serve` on Node, once bundled (Node runs no TypeScript):
 * `bun build adapters/node/serve.ts --target=node --format=esm --packages=external --outfile dist/edgespec-node-serve.mjs`.
 */
import { serve } from "@hono/node-server";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { EdgespecError } from "../../src/errors.ts";
import { headersTooLarge, MAX_HEADER_BYTES, PARSER_HEADER_LIMIT } from "../../src/server/body.ts";
import type { Endpoint } from "../../src/server/model-worker.ts";
import { threadWorkerEndpoint } from "../worker/threads.ts";
import { runCli } from "../../src/cli/main.ts";
import { type FetchHandler, type Listening, type ServeRuntime, signalGate } from "../../src/server/runtime.ts";
import { nodeHost } from "./host.ts";

export function listen(fetch: FetchHandler, opts: { hostname: string; port: number }): Promise<Listening> {
  return new Promise((resolve, reject) => {
    // The parser allows more header bytes than the app does, so the app's JSON 431 is what clients
    // meet; past the parser's limit too, the answer is the same JSON (Node's own has no body).
    const server = serve({ fetch, hostname: opts.hostname, port: opts.port, serverOptions: { maxHeaderSize: PARSER_HEADER_LIMIT } }, (info: AddressInfo) => {
      let done!: () => void;
      const closed = new Promise<void>((r) => (done = r));
      const conns = server as unknown as { closeAllConnections?: () => void; closeIdleConnections?: () => void };
      const close = ({ graceful = false }: { graceful?: boolean } = {}) =>
        new Promise<void>((r) => {
          if (!graceful) gate.detach();
          server.close(() => {
            done();
            r();
          });
          // Open keep-alive (and, unless graceful, streaming) connections would hold close() forever.
          if (graceful) conns.closeIdleConnections?.();
          else conns.closeAllConnections?.();
        });
      const gate = signalGate((s, h) => process.on(s, h), (s, h) => process.off(s, h), () => void close());
      resolve({ hostname: info.address, port: info.port, close, closed, stopRequested: gate.stopRequested });
    });
    server.once("error", reject);
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return void socket.destroy();
      if (err.code === "HPE_HEADER_OVERFLOW") {
        const body = JSON.stringify(headersTooLarge(`over ${PARSER_HEADER_LIMIT} bytes`, MAX_HEADER_BYTES).body);
        socket.end(`HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      } else socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
  });
}

/**
 * The model worker: dist/edgespec-node-worker.mjs beside the bundle this code runs from (the CLI's
 * or the server's), or model-worker.ts beside this source when a TypeScript runtime runs it.
 */
export function modelWorker(): Endpoint {
  const url = new URL(import.meta.url.endsWith(".ts") ? "./model-worker.ts" : "./edgespec-node-worker.mjs", import.meta.url);
  if (!existsSync(url)) throw new EdgespecError("not_ready", `${fileURLToPath(url)} is missing: run npm run build (or serve with --in-process)`);
  return threadWorkerEndpoint(url);
}

export const nodeServeRuntime: ServeRuntime = { listen, env: (name) => process.env[name], modelWorker };

// Node 20 has no import.meta.main: this module is the entry when argv[1] is this file — and is not
// when it is bundled into the CLI (dist/edgespec-node.mjs), whose URL is then the same as argv[1].
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && /serve\.[mc]?[jt]s$/.test(process.argv[1])) {
  process.exitCode = await runCli(nodeHost, ["serve", ...process.argv.slice(2)], {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    debug: process.env.EDGESPEC_DEBUG === "1",
  }, { serve: nodeServeRuntime });
}
