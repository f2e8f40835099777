/**
 * Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test: open a page,
 * wait for a condition in it, read values, take a screenshot. (--dump-dom and --screenshot fire
 * before a streamed response has finished, so they cannot show a completed generation.)
 */
export interface Browser {
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}

export interface Page {
  evaluate<T>(expression: string): Promise<T>;
  waitFor(expression: string, ms?: number): Promise<void>;
  screenshot(): Promise<Uint8Array>;
}

export function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const p = Bun.which(name);
    if (p) return p;
  }
  return undefined;
}

/** `gpuFlags` replace --disable-gpu (a page that needs WebGPU passes what turns on a software adapter). */
export async function launch(exe: string, profileDir: string, gpuFlags: string[] = ["--disable-gpu"]): Promise<Browser> {
  const flags = ["--headless", "--no-sandbox", ...gpuFlags, "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profileDir}`, "--remote-debugging-port=0", "--window-size=1200,800", "about:blank"];
  const proc = Bun.spawn([exe, ...flags], { stdout: "ignore", stderr: "pipe" });
  const reader = proc.stderr.getReader();
  let err = "";
  let ws: string | undefined;
  while (!ws) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`chromium exited before DevTools was ready:\n${err}`);
    err += new TextDecoder().decode(value);
    ws = /DevTools listening on (ws:\/\/\S+)/.exec(err)?.[1];
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  const socket = new WebSocket(ws);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  socket.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data));
    const w = msg.id === undefined ? undefined : waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(`CDP: ${msg.error.message}`));
    else w.resolve(msg.result);
  };
  const send = <T>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async open(url) {
      const { targetId } = await send<{ targetId: string }>("Target.createTarget", { url });
      const { sessionId } = await send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(`page error: ${r.exceptionDetails.text}`);
        return r.result.value;
      };
      return {
        evaluate,
        async waitFor(expression, ms = 20_000) {
          const t0 = Date.now();
          while (!(await evaluate<boolean>(`!!(${expression})`).catch(() => false))) {
            if (Date.now() - t0 > ms) throw new Error(`page condition not met in ${ms} ms: ${expression}`);
            await Bun.sleep(50);
          }
        },
        async screenshot() {
          const { data } = await send<{ data: string }>("Page.captureScreenshot", { format: "png" }, sessionId);
          return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        },
      };
    },
    async close() {
      await send("Browser.close").catch(() => {});
      socket.close();
      proc.kill();
      await proc.exited;
    },
  };
}
