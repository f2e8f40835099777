/**
 * Both ends of a model worker over node:worker_threads, which Node and Bun share. Bun has Web
 * Workers too, but onnxruntime-web's threaded build replaces `globalThis.Worker` with the
 * worker_threads class once it loads in a thread, so a process that has loaded a model in its own
 * thread (tests, the library) could not make a Web Worker any more.
 */
import { parentPort, Worker } from "node:worker_threads";
import type { Endpoint } from "../../src/server/model-worker.ts";

/** The server's side of a new worker running `url`. */
export function threadWorkerEndpoint(url: URL): Endpoint {
  const worker = new Worker(url);
  return {
    post: (message) => worker.postMessage(message),
    listen(onMessage, onFailure) {
      worker.on("message", onMessage);
      worker.on("error", (e: unknown) => onFailure?.(e instanceof Error ? e : new Error(String(e))));
      worker.on("exit", (code) => onFailure?.(new Error(`the worker exited (code ${code})`)));
    },
    terminate: () => void worker.terminate(),
  };
}

/** The worker's own side (call inside the worker). */
export function insideThreadWorker(): Endpoint {
  const port = parentPort;
  if (!port) throw new Error("not in a worker thread");
  return { post: (m) => port.postMessage(m), listen: (onMessage) => port.on("message", onMessage) };
}
