#!/usr/bin/env node
// Launcher for `npx edgespec …`: runs the CLI on Bun when Bun is installed (the development setup:
// bun is a devDependency), else the Node bundle built by `npm run build` (dist/edgespec-node.mjs).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);

function bunBinary() {
  try {
    const pkg = createRequire(join(root, "package.json")).resolve("bun/package.json");
    const bin = join(dirname(pkg), "bin", "bun.exe");
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Under npm (`npx edgespec`, an npm script) this launcher runs below npm's `sh -c`, and a SIGTERM
 * sent to npm alone ends npm and that shell without reaching us (measured: npm 11, the server kept
 * its port). A parent that goes away is then taken as that signal. Only under npm: started from a
 * shell with `nohup … &`, outliving the shell is what the user asked for.
 */
function onOrphaned(stop) {
  if (process.env.npm_lifecycle_event === undefined) return;
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop();
  }, 500);
  watch.unref();
}

const bun = process.env.EDGESPEC_RUNTIME === "node" ? undefined : bunBinary();
if (bun) {
  // The CLI runs in a child; signals sent to this launcher (a supervisor's SIGTERM, a terminal's
  // SIGINT to the launcher alone) reach it too, and its exit becomes ours, so no server outlives us.
  // Bun's HTTP parser takes headers up to src/server/body.ts PARSER_HEADER_LIMIT, so the server's
  // own JSON 431 (at 16 KiB) answers first; Bun's default (16 KiB) would answer with no body.
  const child = spawn(bun, ["--max-http-header-size=65536", join(root, "adapters", "bun", "cli.ts"), ...args], { stdio: "inherit" });
  const forward = (signal) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, forward);
  onOrphaned(() => forward("SIGTERM"));
  child.on("error", (err) => {
    console.error(`edgespec: error: cannot start Bun (${err.message})`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.off(s, forward);
      process.kill(process.pid, signal); // die the way the child died
    } else process.exit(code ?? 1);
  });
} else {
  const bundle = join(root, "dist", "edgespec-node.mjs");
  if (!existsSync(bundle)) {
    // Bun may well be installed: with EDGESPEC_RUNTIME=node it was not looked for.
    console.error(
      process.env.EDGESPEC_RUNTIME === "node"
        ? "edgespec: error: EDGESPEC_RUNTIME=node needs dist/edgespec-node.mjs (npm run build)"
        : "edgespec: error: neither Bun (npm install with devDependencies) nor dist/edgespec-node.mjs (npm run build) is present",
    );
    process.exit(1);
  }
  onOrphaned(() => process.kill(process.pid, "SIGTERM"));
  await import(pathToFileURL(bundle).href);
}
