/**
 * POSIX path segments joined and normalised as node:path's posix.join does: "." dropped, ".."
 * taking the segment before it (never above "/"), repeated slashes as one. For hosts that join
 * paths without node:path (Deno): a shipped model's folder, found beside the default one
 * ("models/edgespec-small/../edgespec-tiny"), then reads in messages and `inspect` as it does on
 * Bun and Node ("models/edgespec-tiny").
 */
export function joinPosix(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  if (joined === "") return ".";
  const absolute = joined.startsWith("/");
  const trailing = joined.endsWith("/");
  const out: string[] = [];
  for (const seg of joined.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg !== "..") out.push(seg);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (!absolute) out.push("..");
  }
  const body = out.join("/");
  if (absolute) return `/${body}${body && trailing ? "/" : ""}`;
  return body === "" ? (trailing ? "./" : ".") : `${body}${trailing ? "/" : ""}`;
}

/**
 * The last segment of a path, with `/` or `\` separators (a file's name, a folder's own name).
 * Trailing separators are skipped, as node:path's basename skips them: a folder is often given as
 * "models/edgespec-small/", and its name is still "edgespec-small" (the served model id), not "".
 */
export function baseName(path: string): string {
  const end = path.replace(/[/\\]+$/, "");
  return end.slice(Math.max(end.lastIndexOf("/"), end.lastIndexOf("\\")) + 1);
}
