/**
 * Load progress on stderr. On a terminal: one line redrawn in place (a bar for weight bytes and
 * corpus files, a line while the session is built) and the notes kept above it. Elsewhere (a log
 * file, a pipe, CI): the notes only, one per line, so logs carry no carriage returns.
 */
import type { ProgressEvent } from "../setup.ts";
import type { CliIO } from "./io.ts";

const WIDTH = 24;
const CLEAR = "\r\x1b[K";

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** `[######------]  42%  44.5/106.0 MiB` for `done` of `total` bytes. */
export function progressBar(done: number, total: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * WIDTH);
  return `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${mib(done)}/${mib(total)} MiB`;
}

const basename = (path: string) => path.split(/[\\/]/).pop() ?? path;

export interface ProgressPrinter {
  show(event: ProgressEvent): void;
  /** Clears the redrawn line (call once the work is done or failed). */
  done(): void;
}

export function progressPrinter(io: CliIO): ProgressPrinter {
  if (!io.progressBar) {
    return { show: (e) => e.phase === "note" && io.err(`${e.message}\n`), done: () => {} };
  }
  let drawn = false;
  const draw = (line: string) => {
    io.err(`${CLEAR}${line}`);
    drawn = true;
  };
  return {
    show(e) {
      switch (e.phase) {
        case "note":
          io.err(`${drawn ? CLEAR : ""}${e.message}\n`);
          drawn = false;
          return;
        case "read":
        case "corpus": {
          const what = e.phase === "read" ? "loading" : "corpus ";
          if (e.totalBytes !== undefined && e.loadedBytes !== undefined) draw(`${what} ${progressBar(e.loadedBytes, e.totalBytes)}  ${basename(e.file ?? "")}`);
          else draw(`${what} ${mib(e.loadedBytes ?? 0)} MiB  ${basename(e.file ?? "")}`);
          return;
        }
        case "session":
          draw(e.message);
          return;
        case "ready":
          if (drawn) io.err(CLEAR);
          drawn = false;
      }
    },
    done() {
      if (drawn) io.err(CLEAR);
      drawn = false;
    },
  };
}
