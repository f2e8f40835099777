/** What a CLI command is given besides the Host: its input and output, and the runtime's server. */
import type { ServeRuntime } from "../server/runtime.ts";

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  debug?: boolean;
  /** All of standard input when it is piped or a file; undefined on a terminal (or where there is none). */
  stdin?: () => Promise<string | undefined>;
  /** Standard input line by line, as it comes (chat). */
  lines?: () => AsyncIterable<string>;
  /** Standard input is a terminal: show prompts. */
  interactive?: boolean;
  /** Standard error is a terminal: draw progress bars in place (else plain lines). */
  progressBar?: boolean;
}

/** What a command may use beyond the Host: the runtime's server (absent where it cannot serve). */
export interface CliRuntime {
  serve?: ServeRuntime;
  /**
   * The shipped models this build loads by a bare name (`--model edgespec-tiny`), for --help and
   * for the error a name it lacks gets; default: the package's (edgespec-tiny, edgespec-small).
   * The single binary embeds only edgespec-tiny.
   */
  shippedModels?: readonly string[];
}
