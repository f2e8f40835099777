/**
 * The edgespec command line. Runtime-free: an adapter passes its Host and output functions.
 * Every failure is one line on stderr and a non-zero exit code (USAGE_ERROR or FAILURE); stack
 * traces only with EDGESPEC_DEBUG=1.
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
import { baseName } from "../paths.ts";

export type { CliIO, CliRuntime } from "./io.ts";

/** The command line itself is wrong: an unknown command or flag, a missing or bad value (a file a flag names included). */
export const USAGE_ERROR = 2;
/** The command could not do its work: the model missing or unreadable, no such device here, a failed generation. */
export const FAILURE = 1;
/** Usage errors by code: the flag parser's and the flag checks' (invalid_argument), and the library's checks of --dtype and --device. */
const USAGE_CODES: ReadonlySet<string> = new Set(["invalid_argument", "invalid_dtype", "invalid_device"]);

const COMMANDS: Record<string, (host: Host, argv: string[], io: CliIO, rt: CliRuntime) => Promise<number>> = {
  generate: generateCommand,
  chat: chatCommand,
  serve: serveCommand,
  bench: benchCommand,
  inspect: inspectCommand,
};

/** The top-level help; it names the model a bare `generate` loads (the package's, or the single binary's embedded one). */
const help = (host: Host) => `edgespec — fast, lossless LLM decoding at the edge

usage: edgespec <command> [flags]

commands:
  generate   generate text from a prompt (default model: ${baseName(host.defaultModelDir())})
  chat       talk to the model on the terminal (streaming, /reset, a figures line per answer)
  serve      an OpenAI-compatible HTTP server (playground at /)
  bench      plain vs speculative decoding on the bench suite, per workload
  inspect    what edgespec makes of a model: layout, dtypes, tree verify (and why not)

Run "edgespec <command> --help" for its flags; "edgespec --version" for the version.
`;

export async function runCli(host: Host, argv: string[], io: CliIO, rt: CliRuntime = {}): Promise<number> {
  const [command, ...rest] = argv;
  // Asked for (--help, -h, help): the help is the output, exit 0. No command at all is a wrong
  // command line: the same help, but on stderr with exit 2, so `edgespec | …` pipes nothing on.
  if (command === "--help" || command === "-h" || command === "help") {
    io.out(help(host));
    return 0;
  }
  if (!command) {
    io.err(help(host));
    return USAGE_ERROR;
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
    return isEdgespecError(e) && USAGE_CODES.has(e.code) ? USAGE_ERROR : FAILURE;
  }
}
