import { createInterface } from "node:readline";

/** Standard input for the CLI through node:process (Node, and Bun): all of it when piped, nothing on a terminal. */
export async function pipedStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Standard input line by line (chat), through node:readline. */
export function stdinLines(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, crlfDelay: Infinity });
}
