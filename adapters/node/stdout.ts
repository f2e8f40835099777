/**
 * Standard output for the CLI on Node and Bun. A reader that leaves early (`edgespec generate … |
 * head`) closes the pipe: the next write fails with EPIPE, which would surface as an unhandled
 * error with a stack trace. Unix tools end quietly then, and so does the CLI: nobody is reading.
 */
export function quietOnClosedPipe(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}
