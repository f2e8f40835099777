/**
 * For test scripts run under Deno: a model folder like `modelDir` (config and tokenizer copied)
 * holding `graph` as onnx/`file`, in a temp folder the caller removes with `removeReplica`.
 */
declare const Deno: {
  makeTempDir(): Promise<string>;
  mkdir(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  remove(path: string, opts: { recursive: boolean }): Promise<void>;
};

export async function replicaDir(modelDir: string, file: string, graph: Uint8Array, kvHeads?: number): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/onnx`);
  for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]) await Deno.copyFile(`${modelDir}/${f}`, `${dir}/${f}`);
  if (kvHeads !== undefined) {
    const config = JSON.parse(new TextDecoder().decode(await Deno.readFile(`${dir}/config.json`)));
    await Deno.writeFile(`${dir}/config.json`, new TextEncoder().encode(JSON.stringify({ ...config, num_key_value_heads: kvHeads })));
  }
  await Deno.writeFile(`${dir}/onnx/${file}`, graph);
  return dir;
}

export function removeReplica(dir: string): Promise<void> {
  return Deno.remove(dir, { recursive: true });
}

export function readFileDeno(path: string): Promise<Uint8Array> {
  return Deno.readFile(path);
}
