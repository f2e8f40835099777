/**
 * `edgespec serve`: an OpenAI-compatible HTTP server for one model. It listens at once (GET /health
 * answers 503 until the model is loaded) and runs until SIGINT/SIGTERM, then stops gracefully
 * (a second signal stops it at once).
 */
import { DRAFTER_NAMES } from "../engine/drafting.ts";
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import { createApp } from "../server/app.ts";
import { LOOPBACK_HOSTS } from "../server/auth.ts";
import type { ModelRunner } from "../server/model-runner.ts";
import { workerRunner } from "../server/model-worker.ts";
import { baseName } from "../paths.ts";
import { ModelService } from "../server/service.ts";
import type { RequestLogEntry } from "../server/request-log.ts";
import { type FlagSpec, parseFlags, usage } from "./args.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import { checkModelChoices, CORPUS_FLAG, flagsForHelp, MODEL_FLAGS, modelDirFrom, setupDataFrom, setUpFrom } from "./model-flags.ts";

export const SERVE_FLAGS: FlagSpec = {
  ...MODEL_FLAGS,
  ...CORPUS_FLAG,
  host: { type: "string", help: "address to listen on", default: "127.0.0.1" },
  port: { type: "int", short: "P", help: "port (0 = any free port)", default: "8080", min: 0, max: 65535 },
  "api-key": { type: "string", help: "require this key (Bearer or X-Api-Key); env EDGESPEC_API_KEY" },
  "max-queue": { type: "int", help: "requests that may wait while one generates; more get 429", default: "16", min: 0 },
  drafter: { type: "string", short: "d", help: `drafter when a request names none: ${DRAFTER_NAMES.join("|")}`, default: "hybrid" },
  cors: { type: "string", help: "comma-separated origins allowed by CORS (* = any)", default: "off" },
  deadline: { type: "number", help: "seconds a request may take, queue included (0 = none)", default: "600", min: 0 },
  "shutdown-grace": { type: "number", help: "seconds a running request may take to finish after SIGTERM/SIGINT", default: "30", min: 0 },
  "body-timeout": { type: "number", help: "seconds a request body may take to arrive, else 408 (0 = none)", default: "30", min: 0 },
  "open-playground": { type: "boolean", help: "serve the playground page at / without the API key" },
  "log-requests": { type: "boolean", help: "one JSON line per generation request on stderr (id, status, tokens, timings, MAL)" },
  "in-process": { type: "boolean", help: "run the model on the server's thread instead of a worker (health checks then wait for a forward)" },
  "allowed-hosts": { type: "string", help: "comma-separated Host names answered (any = all); default: loopback names when bound to loopback without an API key" },
  help: { type: "boolean", help: "show this help" },
};

export async function serveCommand(host: Host, argv: string[], io: CliIO, cli: CliRuntime = {}): Promise<number> {
  const f = parseFlags(argv, SERVE_FLAGS);
  if (f.help) {
    io.out(usage("serve", flagsForHelp(host, SERVE_FLAGS, cli)));
    return 0;
  }
  const drafterNames: readonly string[] = DRAFTER_NAMES;
  const rt = cli.serve;
  if (!rt) throw new EdgespecError("not_ready", `serve is not available on ${host.runtime}: its CLI entry gives no server (adapters/${host.runtime}/serve.ts makes one)`);
  // Ranges: SERVE_FLAGS' min/max, checked by parseFlags.
  const port = (f.port as number | undefined) ?? 8080;
  const maxQueue = (f["max-queue"] as number | undefined) ?? 16;
  const deadline = (f.deadline as number | undefined) ?? 600;
  const grace = (f["shutdown-grace"] as number | undefined) ?? 30;
  const bodyTimeout = (f["body-timeout"] as number | undefined) ?? 30;
  const drafter = (f.drafter as string | undefined) ?? "hybrid";
  if (!drafterNames.includes(drafter)) throw new EdgespecError("invalid_argument", `unknown drafter "${drafter}"`, { validOptions: drafterNames });
  checkModelChoices(f); // before listening: a wrong --device is a usage error, not a server that starts and stops
  const apiKey = (f["api-key"] as string | undefined) ?? rt.env("EDGESPEC_API_KEY");
  if (apiKey !== undefined && apiKey.length === 0) throw new EdgespecError("invalid_argument", "the API key is empty");
  const cors = f.cors as string | undefined;
  const dir = await modelDirFrom(host, f, cli);
  const modelId = baseName(dir) || "edgespec";

  const bind = (f.host as string | undefined) ?? "127.0.0.1";
  const allowedHosts = allowedHostsFor(f["allowed-hosts"] as string | undefined, bind, apiKey !== undefined);

  // The model loads in a worker where the runtime has them, so no forward holds the event loop
  // that answers /health, admission and pings; its drafters live there too.
  const inWorker = rt.modelWorker !== undefined && !f["in-process"];
  // The load begins once the server listens: a port in use or a bad --host then ends the command
  // at once, with no model worker started that would keep the process alive (it hung so before).
  let listening!: () => void;
  const listened = new Promise<void>((r) => (listening = r));
  let kernels: Promise<string>;
  let loading: Promise<ModelRunner>;
  if (inWorker) {
    let ready!: (k: string) => void;
    kernels = new Promise((r) => (ready = r));
    loading = listened.then(() => workerRunner(rt.modelWorker!(), { ...setupDataFrom(f), model: dir, drafter }, { onProgress: (m) => io.err(`${m}\n`), onReady: (info) => ready(info.kernels) }));
  } else {
    const setup = listened.then(() => setUpFrom(host, f, io, { model: dir, drafter }));
    loading = setup.then((s) => s.runner({ prepare: true }));
    kernels = setup.then((s) => s.kernels.name);
  }
  const engine = new ModelService(loading, { maxQueue, modelId });
  const app = createApp({
    engine,
    options: {
      apiKey,
      allowedHosts,
      openPaths: f["open-playground"] ? ["/health", "/"] : ["/health"],
      corsOrigins: cors && cors !== "off" ? cors.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
      drafters: drafterNames,
      defaultDrafter: drafter,
      deadlineMs: deadline * 1000,
      bodyTimeoutMs: bodyTimeout * 1000,
      log: (line) => io.err(`${line}\n`),
      ...(f["log-requests"] ? { requestLog: (entry: RequestLogEntry) => io.err(`${JSON.stringify(entry)}\n`) } : {}),
    },
  });
  let server: Awaited<ReturnType<typeof rt.listen>>;
  try {
    server = await rt.listen(app.fetch, { hostname: bind, port });
  } catch (e) {
    // Bun's own words can mislead (an address that cannot be bound reads "ENOTTY: inappropriate ioctl"): say what was asked.
    throw new EdgespecError("listen_failed", `cannot listen on ${bind}:${port}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  listening();
  const shown = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
  io.err(`edgespec: listening on http://${shown}:${server.port} (model ${modelId}, ${apiKey ? "API key required" : "no API key"}, queue ${maxQueue})\n`);
  await engine.ready;
  if (engine.loadError) {
    await server.close();
    throw engine.loadError;
  }
  io.err(`edgespec: ready (drafter kernels: ${await kernels}${inWorker ? ", model in a worker" : ""})\n`);
  const signal = await Promise.race([server.stopRequested, server.closed.then(() => undefined)]);
  if (signal !== undefined) {
    // Graceful: no new connections; queued requests get 503 at once; the running one finishes
    // (its stream too) within the grace period, after which what is left is cut.
    io.err(`edgespec: ${signal}: finishing the running request (up to ${grace} s), refusing queued and new ones\n`);
    const drained = Promise.all([engine.drain(), server.close({ graceful: true })]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), grace * 1000)));
    const finished = await Promise.race([drained.then(() => true), expired]);
    clearTimeout(timer);
    if (!finished) await server.close();
  }
  await server.closed;
  await engine.close();
  return 0;
}

/**
 * Which Host names the server answers to. A server on loopback without an API key is reachable
 * by any web page the user opens, through DNS rebinding, unless it checks Host: it answers only to
 * loopback names then. `--allowed-hosts any` turns the check off; a list replaces the default.
 */
export function allowedHostsFor(flag: string | undefined, bind: string, hasApiKey: boolean): string[] | undefined {
  if (flag !== undefined) {
    const list = flag.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    if (list.length === 0) throw new EdgespecError("invalid_argument", "--allowed-hosts is empty (give names, or any)");
    return list.includes("any") ? undefined : list;
  }
  const loopback = bind === "localhost" || bind === "::1" || bind.startsWith("127.");
  return loopback && !hasApiKey ? [...LOOPBACK_HOSTS, bind.includes(":") ? `[${bind}]` : bind] : undefined;
}
