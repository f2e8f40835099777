/**
 * What serving needs from the runtime, beyond the Host: a way to listen for HTTP, to read the
 * environment and to start a model worker. Each adapter's serve.ts makes one; its CLI entry hands
 * it to runCli, so the runtime-free `edgespec serve` command uses it without naming Bun, Deno or
 * Node (and nothing is registered by importing a module).
 */
import type { Endpoint } from "./model-worker.ts";

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface Listening {
  hostname: string;
  port: number;
  /**
   * Stops accepting connections. Open ones are ended at once, or with `graceful` left to finish
   * (streams included); a later close() without it ends them.
   */
  close(opts?: { graceful?: boolean }): Promise<void>;
  /** Settles when the server has stopped. */
  closed: Promise<void>;
  /**
   * Settles with the signal's name at the first SIGINT/SIGTERM: the owner decides how to stop
   * (graceful drain). A second signal closes the server at once.
   */
  stopRequested: Promise<string>;
}

type SignalName = "SIGINT" | "SIGTERM";
type Listen = (signal: SignalName, handler: () => void) => void;

/**
 * The signal handling every adapter shares, given its runtime's way to add and remove a signal
 * listener: the first SIGINT/SIGTERM asks (stopRequested), the second one forces `forceClose`.
 * `detach` removes the listeners (a forced close).
 */
export function signalGate(on: Listen, off: Listen, forceClose: () => void): { stopRequested: Promise<string>; detach: () => void } {
  let ask!: (name: string) => void;
  const stopRequested = new Promise<string>((resolve) => (ask = resolve));
  let count = 0;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => [name, () => (count++ === 0 ? ask(name) : forceClose())] as const);
  for (const [name, h] of handlers) on(name, h);
  return { stopRequested, detach: () => handlers.forEach(([name, h]) => off(name, h)) };
}

export interface ServeRuntime {
  listen(fetch: FetchHandler, opts: { hostname: string; port: number }): Promise<Listening>;
  env(name: string): string | undefined;
  /**
   * A new worker running this adapter's model-worker entry (serveModelWorker with its Host), seen
   * from the server's side; absent where the runtime has no workers (the model then runs in the
   * server's thread, yielding between forwards).
   */
  modelWorker?(): Endpoint;
}
