/** Standard input for the CLI through node:process (Node, and Bun): all of it when piped, nothing on a terminal. */
export async function pipedStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
