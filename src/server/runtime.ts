/**
 * What serving needs from the runtime, beyond the Host: a way to listen for HTTP and to read the
 * environment. Each adapter's serve.ts registers its implementation when imported, so the
 * runtime-free `edgespec serve` command finds it without naming Bun, Deno or Node.
 */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface Listening {
  hostname: string;
  port: number;
  /** Stops accepting connections and ends open ones. */
  close(): Promise<void>;
  /** Settles when the server has stopped (close(), or SIGINT/SIGTERM handled by the adapter). */
  closed: Promise<void>;
}

export interface ServeRuntime {
  listen(fetch: FetchHandler, opts: { hostname: string; port: number }): Promise<Listening>;
  env(name: string): string | undefined;
}

let registered: ServeRuntime | undefined;

export function registerServeRuntime(rt: ServeRuntime): void {
  registered = rt;
}

export function serveRuntime(): ServeRuntime | undefined {
  return registered;
}
