/**
 * Both ends of a model worker over the Web Worker API (Deno): `new Worker(url, { type: "module" })`
 * on the server's side, `self.onmessage` / `self.postMessage` inside.
 */
import type { Endpoint } from "../../src/server/model-worker.ts";

/**
 * The server's side of a new worker running `url`. `terminate: false` leaves ending the worker to
 * the process exit: Deno 2.9 segfaulted at exit in 2 of 5 forced shutdowns (a second SIGTERM
 * during a generation) when the worker, with onnxruntime-web's threads in it, was terminated just
 * before; 0 of 6 without.
 */
export function webWorkerEndpoint(url: URL, opts: { terminate?: boolean } = {}): Endpoint {
  const worker = new Worker(url.href, { type: "module" });
  return {
    post: (message) => worker.postMessage(message),
    listen(onMessage, onFailure) {
      worker.onmessage = (e: MessageEvent) => onMessage(e.data);
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault(); // Deno would otherwise end the whole process
        onFailure?.(new Error(e.message || "the worker failed"));
      };
      worker.addEventListener("close", () => onFailure?.(new Error("the worker exited")));
    },
    terminate() {
      if (opts.terminate !== false) worker.terminate();
    },
  };
}

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
}

/** The worker's own side (call inside the worker). */
export function insideWebWorker(): Endpoint {
  const scope = globalThis as unknown as WorkerScope;
  return {
    post: (message) => scope.postMessage(message),
    listen(onMessage) {
      scope.onmessage = (e) => onMessage(e.data);
    },
  };
}
