/**
 * The edgespec command line. Runtime-free: an adapter passes its Host and output functions.
 * Every failure is one line on stderr and a non-zero exit code; stack traces only with
 * EDGESPEC_DEBUG=1.
 */
import { EdgespecError, isEdgespecError } from "../errors.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import type { Host } from "../host.ts";
import { benchCommand } from "./bench.ts";
import { chatCommand } from "./chat.ts";
import { generateCommand } from "./generate.ts";
import { inspectCommand } from "./inspect.ts";
import { serveCommand } from "./serve.ts";
import { VERSION } from "../version.ts";

export type { CliIO, CliRuntime } from "./io.ts";

const COMMANDS: Record<string, (host: Host, argv: string[], io: CliIO, rt: CliRuntime) => Promise<number>> = {
  generate: generateCommand,
  chat: chatCommand,
  serve: serveCommand,
  bench: benchCommand,
  inspect: inspectCommand,
};

const HELP = `edgespec — fast, lossless LLM decoding at the edge

usage: edgespec <command> [flags]

commands:
  generate   generate text from a prompt (embedded model by default)
  chat       talk to the model on the terminal (streaming, /reset, a figures line per answer)
  serve      an OpenAI-compatible HTTP server (playground at /)
  bench      plain vs speculative decoding on the bench suite, per workload
  inspect    what edgespec makes of a model: layout, dtypes, tree verify (and why not)

Run "edgespec <command> --help" for its flags; "edgespec --version" for the version.
`;

export async function runCli(host: Host, argv: string[], io: CliIO, rt: CliRuntime = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    io.out(HELP);
    return command ? 0 : 2;
  }
  if (command === "--version" || command === "-v" || command === "version") {
    io.out(`edgespec ${VERSION}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  try {
    if (!run) throw new EdgespecError("invalid_argument", `unknown command "${command}"`, { validOptions: Object.keys(COMMANDS) });
    return await run(host, rest, io, rt);
  } catch (e) {
    const message = isEdgespecError(e) ? e.message : e instanceof Error ? e.message : String(e);
    io.err(`edgespec: error: ${message.split("\n")[0]}\n`);
    if (io.debug && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    return isEdgespecError(e) && e.code === "invalid_argument" ? 2 : 1;
  }
}
