/**
 * 4-bit weights unpacked to float32 at load, for the WebAssembly backend.
 *
 * onnxruntime-web's WASM build has no packed 4-bit GEMM: its com.microsoft MatMulNBits kernel
 * dequantizes the whole weight matrix to float32 on every call, then multiplies. A forward then
 * costs the model's dequantization whatever it computes: edgespec-tiny's q4 export took 7.5–8.1
 * ms per forward of 1 token (2 threads), against 1.4–1.8 for fp32, and speculation could not win
 * back what each forward lost. Unpacked once, the same weights cost an fp32 model's time per
 * forward (1.51 ms at 1 token, 3.25 at 8), at about an fp32 model's memory: the price of the speed,
 * which `LoadOptions.unpackWeights: false` (CLI `--packed-weights`) declines.
 *
 * Each MatMulNBits node (4 bits, float32 or float16 scales, optional packed uint8 zero points,
 * optional float32 bias; no g_idx) becomes a MatMul with a float32 [K, N] initializer, w[k][n] =
 * (q[n][k] - zero[n][k / block]) · scale[n][k / block] — what the kernel's dequantization
 * computes — held in one new external-data blob. With float16 activations (q4f16) the MatMul
 * runs on them cast to float32 and its product is cast back, as the kernel does. Logits move by
 * ~1e-5 (the float32 GEMM's summation order), as between the other CPU kernels; with float16
 * activations by one float16 ulp (q4f16 tiny: 9.0 -> 2.05 ms per 1-token forward).
 */
import { bytesField, concat, type Field, parseFields, stringField, text, varintField, withGraphBody } from "./protobuf.ts";
import { DTYPE, ENTRY, GRAPH, intAttr, MODEL, nodeField, TENSOR } from "./schema.ts";
import { halfBitsToFloat32 } from "./float16.ts";
import { graphNodes, MS_DOMAIN, type NodeView } from "./graph-nodes.ts";

/** The external-data name the unpacked weights go by. */
export const UNPACKED_WEIGHTS = "edgespec-unpacked-weights.bin";
const EXTERNAL = 1;

export interface NBitsUnpackResult {
  bytes: Uint8Array;
  /** MatMulNBits nodes turned into MatMuls. */
  rewritten: number;
  /** The unpacked weights, as external data named UNPACKED_WEIGHTS (empty when nothing was rewritten). */
  data: Uint8Array;
  /** Why nodes kept their packed weights, when some did. */
  reason?: string;
}

interface Initializer {
  field: Field;
  dims: number[];
  dataType: number;
  /** The tensor's bytes: inline, or read from the external data it names. */
  bytes: Uint8Array | undefined;
}

function readInitializers(graph: readonly Field[], external: (path: string) => Uint8Array | undefined): Map<string, Initializer> {
  const out = new Map<string, Initializer>();
  for (const f of graph) {
    if (f.no !== GRAPH.initializer) continue;
    const t = parseFields(f.body);
    const name = t.find((x) => x.no === TENSOR.name);
    if (!name) continue;
    const raw = t.find((x) => x.no === TENSOR.rawData)?.body;
    let bytes = raw;
    if (!raw && t.some((x) => x.no === TENSOR.dataLocation && x.value === EXTERNAL)) {
      const entries = new Map(
        t.filter((x) => x.no === TENSOR.externalData).map((x) => {
          const e = parseFields(x.body);
          return [text(e.find((y) => y.no === ENTRY.key)?.body ?? new Uint8Array()), text(e.find((y) => y.no === ENTRY.value)?.body ?? new Uint8Array())] as const;
        }),
      );
      const file = external(entries.get("location") ?? "");
      const offset = Number(entries.get("offset") ?? 0);
      const length = entries.get("length") === undefined ? undefined : Number(entries.get("length"));
      if (file && length !== undefined && offset + length <= file.length) bytes = file.subarray(offset, offset + length);
    }
    out.set(text(name.body), { field: f, dims: t.filter((x) => x.no === TENSOR.dims).map((x) => x.value), dataType: t.find((x) => x.no === TENSOR.dataType)?.value ?? 0, bytes });
  }
  return out;
}

/** What keeps a node packed, or undefined. */
function keepsPacked(n: NodeView, inits: ReadonlyMap<string, Initializer>): string | undefined {
  const K = n.ints.get("K") ?? 0;
  const N = n.ints.get("N") ?? 0;
  const block = n.ints.get("block_size") ?? 0;
  if ((n.ints.get("bits") ?? 4) !== 4) return `${n.ints.get("bits")}-bit weights`;
  if (!(K > 0 && N > 0 && block >= 16 && (block & (block - 1)) === 0)) return "its K, N or block size";
  if (n.inputs[4]) return "a g_idx input";
  const b = inits.get(n.inputs[1] ?? "");
  const scales = inits.get(n.inputs[2] ?? "");
  const zero = n.inputs[3] ? inits.get(n.inputs[3]) : undefined;
  const blocks = Math.ceil(K / block);
  if (!b?.bytes || b.dataType !== DTYPE.uint8 || b.bytes.length !== N * blocks * (block / 2)) return "its packed weights";
  const scaleBytes = scales?.dataType === DTYPE.float16 ? 2 : 4;
  if (!scales?.bytes || (scales.dataType !== DTYPE.float && scales.dataType !== DTYPE.float16) || scales.bytes.length !== scaleBytes * N * blocks) return "its scales";
  if (n.inputs[3] && (!zero?.bytes || zero.dataType !== DTYPE.uint8 || zero.bytes.length !== N * Math.ceil(blocks / 2))) return "its zero points";
  if (n.inputs[5] && scales.dataType === DTYPE.float16) return "a float16 bias";
  return undefined;
}

/** w[k][n] for one node, row-major [K, N]. */
function unpack(n: NodeView, inits: ReadonlyMap<string, Initializer>): Float32Array {
  const K = n.ints.get("K")!;
  const N = n.ints.get("N")!;
  const block = n.ints.get("block_size")!;
  const blocks = Math.ceil(K / block);
  const q = inits.get(n.inputs[1]!)!.bytes!;
  const s = inits.get(n.inputs[2]!)!;
  const sb = s.bytes!.slice();
  const scales = s.dataType === DTYPE.float16 ? halfBitsToFloat32(new Uint16Array(sb.buffer)) : new Float32Array(sb.buffer);
  const zero = n.inputs[3] ? inits.get(n.inputs[3])!.bytes! : undefined;
  const zeroRow = Math.ceil(blocks / 2);
  const w = new Float32Array(K * N);
  for (let col = 0; col < N; col++) {
    for (let b = 0; b < blocks; b++) {
      const scale = scales[col * blocks + b]!;
      const z = zero ? (zero[col * zeroRow + (b >> 1)]! >> ((b & 1) * 4)) & 15 : 8;
      const base = (col * blocks + b) * (block / 2);
      const end = Math.min(block, K - b * block);
      for (let i = 0; i < end; i++) {
        const v = (q[base + (i >> 1)]! >> ((i & 1) * 4)) & 15;
        w[(b * block + i) * N + col] = (v - z) * scale;
      }
    }
  }
  return w;
}

function externalInitializer(name: string, dims: number[], offset: number, length: number): Uint8Array {
  const entry = (key: string, value: string) => bytesField(TENSOR.externalData, concat([stringField(ENTRY.key, key), stringField(ENTRY.value, value)]));
  return bytesField(
    GRAPH.initializer,
    concat([...dims.map((d) => varintField(TENSOR.dims, d)), varintField(TENSOR.dataType, DTYPE.float), stringField(TENSOR.name, name), entry("location", UNPACKED_WEIGHTS), entry("offset", String(offset)), entry("length", String(length)), varintField(TENSOR.dataLocation, EXTERNAL)]),
  );
}

/**
 * Every 4-bit MatMulNBits of the graph whose unpacked weights fit `maxBytes` in all, as a MatMul
 * over float32 weights. `external(path)` gives the bytes of an external-data file the graph names.
 */
export function unpackNBitsWeights(bytes: Uint8Array, external: (path: string) => Uint8Array | undefined, maxBytes = Infinity): NBitsUnpackResult {
  const left = (reason?: string): NBitsUnpackResult => ({ bytes, rewritten: 0, data: new Uint8Array(0), ...(reason ? { reason } : {}) });
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return left();
  const graph = parseFields(graphField.body);
  const nodes = graphNodes(graph).filter((n) => n.op === "MatMulNBits" && n.domain === MS_DOMAIN);
  if (nodes.length === 0) return left();
  const inits = readInitializers(graph, external);
  const kept: string[] = [];
  const todo = nodes.filter((n) => {
    const why = keepsPacked(n, inits);
    if (why) kept.push(why);
    return !why;
  });
  const total = todo.reduce((s, n) => s + 4 * n.ints.get("K")! * n.ints.get("N")!, 0);
  if (total > maxBytes) return left(`unpacked they would take ${Math.round(total / 2 ** 20)} MiB, over the ${Math.round(maxBytes / 2 ** 20)} MiB allowed`);
  if (todo.length === 0) return left(kept[0]);
  const data = new Uint8Array(total);
  const replaced = new Map<Field, Uint8Array[]>();
  const added: Uint8Array[] = [];
  let offset = 0;
  for (const n of todo) {
    const w = unpack(n, inits);
    const name = `${n.inputs[1]}_edgespec_fp32`;
    data.set(new Uint8Array(w.buffer), offset);
    added.push(externalInitializer(name, [n.ints.get("K")!, n.ints.get("N")!], offset, w.byteLength));
    offset += w.byteLength;
    const out = n.outputs[0]!;
    const bias = n.inputs[5];
    if (inits.get(n.inputs[2]!)!.dataType === DTYPE.float16) {
      // float16 activations: the kernel multiplies them as float32 and rounds the product back.
      replaced.set(n.field, [nodeField("Cast", [n.inputs[0]!], [`${out}_a32`], `${out}_a32`, [intAttr("to", DTYPE.float)]), nodeField("MatMul", [`${out}_a32`, name], [`${out}_f32`], `${out}_matmul`), nodeField("Cast", [`${out}_f32`], [out], `${out}_f16`, [intAttr("to", DTYPE.float16)])]);
    } else {
      replaced.set(n.field, bias ? [nodeField("MatMul", [n.inputs[0]!, name], [`${out}_unbiased`], `${out}_matmul`), nodeField("Add", [`${out}_unbiased`, bias], [out], `${out}_bias`)] : [nodeField("MatMul", [n.inputs[0]!, name], [out], `${out}_matmul`)]);
    }
  }
  // The packed tensors no node reads any more go, so onnxruntime does not copy them in.
  const read = new Set(graphNodes(graph).flatMap((n) => (replaced.has(n.field) ? [n.inputs[0]!, n.inputs[5] ?? ""] : n.inputs)));
  const packed = new Set(todo.flatMap((n) => n.inputs.slice(1, 4)).filter((name) => name && !read.has(name)));
  const stale = new Set([...packed].map((name) => inits.get(name)!.field));
  const body = withGraphBody(model, graphField, [...graph.filter((f) => !stale.has(f)).flatMap((f) => replaced.get(f) ?? [f.raw]), ...added]);
  return { bytes: body, rewritten: todo.length, data, ...(kept.length ? { reason: kept[0] } : {}) };
}
