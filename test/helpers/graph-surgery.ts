/**
 * Replicas of real export layouts made from the reference model by editing its graph, so loading
 * code is tested on the shapes users bring without downloading anything:
 * - `withoutPositionIds`: positions computed inside the graph from attention_mask (as some Gemma
 *   and other exports do), no position_ids input;
 * - `withLogitsToKeep`: a scalar `num_logits_to_keep` input that trims logits to the last k rows
 *   (newer Optimum / transformers.js exports);
 * - `withSoftmaxCasts`: eager attention as fp16 exports write it, the Softmax between Casts
 *   (Add -> Cast -> Softmax -> Cast -> Cast -> MatMul; here every Cast is to float, so the
 *   numbers are the reference's);
 * - `toFloat16`: the whole graph in float16 (weights, constants, Casts, inputs and outputs, so
 *   the KV cache is float16 too), at the reference's opset 14 (no CastLike), as fp16 exports are;
 * - `toExternalData`: weights moved to external files under any name, optionally chunked;
 * - `withWhereMask`: the mask applied as masked_fill (`Where(mask, finfo.min, scores)`), as
 *   exports of `scores.masked_fill(...)` write it, instead of an additive `scores + mask`.
 */
import { valueInfo } from "../../src/onnx/graph-nodes.ts";
import { bytesField, concat, type Field, parseFields, stringField, text, varintField } from "../../src/onnx/protobuf.ts";
import { DTYPE, ENTRY, GRAPH, initializerField, intAttr, MODEL, NODE, nodeField, TENSOR, TENSOR_TYPE, TYPE, VALUE_INFO } from "../../src/onnx/schema.ts";

const i64 = (...vs: number[]) => {
  const b = new Uint8Array(8 * vs.length);
  const dv = new DataView(b.buffer);
  vs.forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
  return b;
};
const I64_MAX = 2 ** 62;

const nameOf = (f: Field) => text(parseFields(f.body).find((x) => x.no === VALUE_INFO.name)!.body);

/** Rebuilds the model with the graph's fields mapped by `edit` (which sees them all at once). */
function editGraph(model: Uint8Array, edit: (graph: Field[]) => Uint8Array[]): Uint8Array {
  return concat(parseFields(model).map((f) => (f.no === MODEL.graph ? bytesField(MODEL.graph, concat(edit(parseFields(f.body)))) : f.raw)));
}

/** position_ids is no longer an input: the graph computes it as cumsum(attention_mask) - 1, last S. */
export function withoutPositionIds(model: Uint8Array): Uint8Array {
  const P = "surgery_pos";
  const nodes = [
    initializerField(`${P}_axis`, DTYPE.int64, i64(1)),
    initializerField(`${P}_one`, DTYPE.int64, i64(1)),
    initializerField(`${P}_s0`, DTYPE.int64, i64(1), [1]),
    initializerField(`${P}_s1`, DTYPE.int64, i64(2), [1]),
    initializerField(`${P}_end`, DTYPE.int64, i64(I64_MAX), [1]),
    initializerField(`${P}_axes`, DTYPE.int64, i64(1), [1]),
    nodeField("CumSum", ["attention_mask", `${P}_axis`], [`${P}_cum`], `${P}_cumsum`),
    nodeField("Sub", [`${P}_cum`, `${P}_one`], [`${P}_all`], `${P}_sub`),
    nodeField("Shape", ["input_ids"], [`${P}_shape`], `${P}_shape`),
    nodeField("Slice", [`${P}_shape`, `${P}_s0`, `${P}_s1`], [`${P}_len`], `${P}_len`),
    nodeField("Neg", [`${P}_len`], [`${P}_start`], `${P}_neg`),
    nodeField("Slice", [`${P}_all`, `${P}_start`, `${P}_end`, `${P}_axes`], ["position_ids"], `${P}_slice`),
  ];
  return editGraph(model, (graph) => {
    const out: Uint8Array[] = [];
    let placed = false;
    for (const f of graph) {
      if (f.no === GRAPH.input && nameOf(f) === "position_ids") continue;
      if (f.no === GRAPH.node && !placed) {
        out.push(...nodes);
        placed = true;
      }
      out.push(f.raw);
    }
    return out;
  });
}

/** A scalar int64 `num_logits_to_keep` input; logits are the last k rows of what the graph computed. */
export function withLogitsToKeep(model: Uint8Array, input = "num_logits_to_keep"): Uint8Array {
  const P = "surgery_keep";
  return editGraph(model, (graph) => {
    const out = graph.map((f) => {
      if (f.no !== GRAPH.node) return f.raw;
      const fields = parseFields(f.body);
      if (!fields.some((x) => x.no === NODE.output && text(x.body) === "logits")) return f.raw;
      return bytesField(GRAPH.node, concat(fields.map((x) => (x.no === NODE.output && text(x.body) === "logits" ? stringField(NODE.output, `${P}_all`) : x.raw))));
    });
    out.push(
      bytesField(GRAPH.input, valueInfo(input, DTYPE.int64, [])),
      initializerField(`${P}_shape`, DTYPE.int64, i64(1), [1]),
      initializerField(`${P}_end`, DTYPE.int64, i64(I64_MAX), [1]),
      initializerField(`${P}_axes`, DTYPE.int64, i64(1), [1]),
      nodeField("Neg", [input], [`${P}_negk`], `${P}_neg`),
      nodeField("Reshape", [`${P}_negk`, `${P}_shape`], [`${P}_start`], `${P}_reshape`),
      nodeField("Slice", [`${P}_all`, `${P}_start`, `${P}_end`, `${P}_axes`], ["logits"], `${P}_slice`),
    );
    return out;
  });
}

/** Every Softmax gets a Cast before it and two after it, as eager attention in fp16 exports has. */
export function withSoftmaxCasts(model: Uint8Array): Uint8Array {
  let k = 0;
  const cast = (from: string, to: string) => nodeField("Cast", [from], [to], `surgery_cast_${k}_${to}`, [intAttr("to", DTYPE.float)]);
  return editGraph(model, (graph) =>
    graph.flatMap((f) => {
      if (f.no !== GRAPH.node) return [f.raw];
      const fields = parseFields(f.body);
      if (text(fields.find((x) => x.no === NODE.opType)!.body) !== "Softmax") return [f.raw];
      k++;
      const input = text(fields.find((x) => x.no === NODE.input)!.body);
      const output = text(fields.find((x) => x.no === NODE.output)!.body);
      const softmax = bytesField(
        GRAPH.node,
        concat(fields.map((x) => (x.no === NODE.input ? stringField(NODE.input, `${input}_up`) : x.no === NODE.output ? stringField(NODE.output, `${output}_f32`) : x.raw))),
      );
      return [cast(input, `${input}_up`), softmax, cast(`${output}_f32`, `${output}_down`), cast(`${output}_down`, output)];
    }),
  );
}

const ATTRIBUTE = { t: 5 } as const;

/** A float32 TensorProto (raw data) as float16; other tensors unchanged. */
function tensorToHalf(body: Uint8Array): Uint8Array {
  const fields = parseFields(body);
  if (!fields.some((x) => x.no === TENSOR.dataType && x.value === DTYPE.float)) return body;
  const raw = fields.find((x) => x.no === TENSOR.rawData);
  if (!raw) throw new Error("toFloat16: a float tensor without raw_data");
  const src = new Float32Array(raw.body.slice().buffer);
  const half = new Uint8Array(Float16Array.from(src).buffer);
  return concat(fields.map((x) => (x.no === TENSOR.dataType ? varintField(TENSOR.dataType, DTYPE.float16) : x === raw ? bytesField(TENSOR.rawData, half) : x.raw)));
}

function valueToHalf(body: Uint8Array): Uint8Array {
  return concat(
    parseFields(body).map((x) => {
      if (x.no !== VALUE_INFO.type) return x.raw;
      const tensor = parseFields(x.body).find((t) => t.no === TYPE.tensor)!;
      const inner = concat(parseFields(tensor.body).map((t) => (t.no === TENSOR_TYPE.elemType && t.value === DTYPE.float ? varintField(TENSOR_TYPE.elemType, DTYPE.float16) : t.raw)));
      return bytesField(VALUE_INFO.type, bytesField(TYPE.tensor, inner));
    }),
  );
}

export function toFloat16(model: Uint8Array): Uint8Array {
  return editGraph(model, (graph) =>
    graph.map((f) => {
      if (f.no === GRAPH.initializer) return bytesField(GRAPH.initializer, tensorToHalf(f.body));
      if (f.no === GRAPH.input || f.no === GRAPH.output) return bytesField(f.no, valueToHalf(f.body));
      if (f.no !== GRAPH.node) return f.raw;
      const fields = parseFields(f.body);
      const op = text(fields.find((x) => x.no === NODE.opType)!.body);
      if (op !== "Constant" && op !== "Cast") return f.raw;
      const attrs = fields.map((x) => {
        if (x.no !== NODE.attribute) return x.raw;
        const a = parseFields(x.body);
        if (op === "Cast" && a.some((y) => y.no === 3 && y.value === DTYPE.float)) return bytesField(NODE.attribute, intAttr("to", DTYPE.float16));
        if (op === "Constant") return bytesField(NODE.attribute, concat(a.map((y) => (y.no === ATTRIBUTE.t ? bytesField(ATTRIBUTE.t, tensorToHalf(y.body)) : y.raw))));
        return x.raw;
      });
      return bytesField(GRAPH.node, concat(attrs));
    }),
  );
}

/**
 * Moves every initializer of 1 KiB or more to external data. `files` names the data files; the
 * tensors are dealt out to them in turn (one name: Optimum's single file; several: chunks).
 */
export function toExternalData(model: Uint8Array, files: string[]): { graph: Uint8Array; data: Map<string, Uint8Array> } {
  const chunks = new Map<string, Uint8Array[]>(files.map((f) => [f, []]));
  const offsets = new Map<string, number>(files.map((f) => [f, 0]));
  const entry = (k: string, v: string) => bytesField(TENSOR.externalData, concat([stringField(ENTRY.key, k), stringField(ENTRY.value, v)]));
  let turn = 0;
  const graph = editGraph(model, (fields) =>
    fields.map((g) => {
      if (g.no !== GRAPH.initializer) return g.raw;
      const tensor = parseFields(g.body);
      const raw = tensor.find((t) => t.no === TENSOR.rawData);
      if (!raw || raw.body.length < 1024) return g.raw;
      const file = files[turn++ % files.length]!;
      const offset = offsets.get(file)!;
      chunks.get(file)!.push(raw.body);
      offsets.set(file, offset + raw.body.length);
      return bytesField(GRAPH.initializer, concat([...tensor.filter((t) => t !== raw).map((t) => t.raw), entry("location", file), entry("offset", String(offset)), entry("length", String(raw.body.length)), varintField(TENSOR.dataLocation, 1)]));
    }),
  );
  return { graph, data: new Map([...chunks].map(([f, c]) => [f, concat(c)])) };
}


/** Every `Add(scores, mask)` feeding a Softmax becomes `Where(mask < -1, float32 lowest, scores)`. */
export function withWhereMask(model: Uint8Array): Uint8Array {
  return editGraph(model, (graph) => {
    const nodes = graph.filter((f) => f.no === GRAPH.node).map((f) => parseFields(f.body));
    const op = (n: Field[]) => text(n.find((x) => x.no === NODE.opType)!.body);
    const ins = (n: Field[]) => n.filter((x) => x.no === NODE.input).map((x) => text(x.body));
    const outs = (n: Field[]) => n.filter((x) => x.no === NODE.output).map((x) => text(x.body));
    const softmaxInputs = new Set(nodes.filter((n) => op(n) === "Softmax").map((n) => ins(n)[0]));
    let k = 0;
    const out = graph.flatMap((f) => {
      if (f.no !== GRAPH.node) return [f.raw];
      const n = parseFields(f.body);
      if (op(n) !== "Add" || !softmaxInputs.has(outs(n)[0])) return [f.raw];
      const [scores, mask] = ins(n) as [string, string];
      const P = `surgery_where_${k++}`;
      return [
        nodeField("Less", [mask, "surgery_where_minus_one"], [`${P}_masked`], `${P}_less`),
        nodeField("Where", [`${P}_masked`, "surgery_where_lowest", scores], [outs(n)[0]!], `${P}_where`),
      ];
    });
    const f32 = (v: number) => new Uint8Array(Float32Array.of(v).buffer);
    out.push(initializerField("surgery_where_minus_one", DTYPE.float, f32(-1)), initializerField("surgery_where_lowest", DTYPE.float, f32(-3.4028234663852886e38)));
    return out;
  });
}

/**
 * Weight-only 4-bit quantization as onnxruntime's MatMulNBits quantizer writes it (the genai
 * builder's int4 folders): every MatMul with a float [K, N] initializer weight (K a multiple of
 * `blockSize`) becomes com.microsoft.MatMulNBits with symmetric per-block scales (zero point 8,
 * the op's default), 4-bit values packed two per byte, low nibble first. The model must already
 * import the com.microsoft domain.
 */
/**
 * Every float MatMul weight as com.microsoft MatMulNBits (4 bits, blocks of `blockSize` along K).
 * `zeroPoints`: asymmetric blocks (min..max over 0..15, packed uint8 zero points) instead of
 * symmetric ones (zero point 8, none stored); `bias`: a small bias input on every node.
 */
export function toMatMulNBits(model: Uint8Array, blockSize = 32, opts: { zeroPoints?: boolean; bias?: boolean } = {}): Uint8Array {
  return editGraph(model, (graph) => {
    const inits = new Map<string, { dims: number[]; raw: Uint8Array; field: Field }>();
    for (const f of graph.filter((g) => g.no === GRAPH.initializer)) {
      const t = parseFields(f.body);
      if (!t.some((x) => x.no === TENSOR.dataType && x.value === DTYPE.float)) continue;
      inits.set(text(t.find((x) => x.no === TENSOR.name)!.body), { dims: t.filter((x) => x.no === TENSOR.dims).map((x) => x.value), raw: t.find((x) => x.no === TENSOR.rawData)!.body, field: f });
    }
    const replacedInits = new Set<Field>();
    const added: Uint8Array[] = [];
    const out = graph.flatMap((f) => {
      if (f.no !== GRAPH.node) return [f];
      const n = parseFields(f.body);
      const op = text(n.find((x) => x.no === NODE.opType)!.body);
      const ins = n.filter((x) => x.no === NODE.input).map((x) => text(x.body));
      const w = op === "MatMul" ? inits.get(ins[1]!) : undefined;
      if (!w || w.dims.length !== 2 || w.dims[0]! % blockSize !== 0) return [f];
      const [K, N] = w.dims as [number, number];
      const data = new Float32Array(w.raw.slice().buffer);
      const blocks = K / blockSize;
      const packed = new Uint8Array(N * blocks * (blockSize / 2));
      const scales = new Float32Array(N * blocks);
      const zeroRow = Math.ceil(blocks / 2);
      const zeros = new Uint8Array(N * zeroRow);
      for (let col = 0; col < N; col++) {
        for (let b = 0; b < blocks; b++) {
          let max = 0;
          let lo = Infinity;
          let hi = -Infinity;
          for (let k = b * blockSize; k < (b + 1) * blockSize; k++) {
            const x = data[k * N + col]!;
            max = Math.max(max, Math.abs(x));
            lo = Math.min(lo, x, 0);
            hi = Math.max(hi, x, 0);
          }
          const scale = (opts.zeroPoints ? (hi - lo) / 15 : max / 7) || 1;
          const zero = opts.zeroPoints ? Math.min(15, Math.max(0, Math.round(-lo / scale))) : 8;
          if (opts.zeroPoints) zeros[col * zeroRow + (b >> 1)] = zeros[col * zeroRow + (b >> 1)]! | (zero << ((b & 1) * 4));
          scales[col * blocks + b] = scale;
          for (let i = 0; i < blockSize; i++) {
            const q = Math.min(15, Math.max(0, Math.round(data[(b * blockSize + i) * N + col]! / scale) + zero));
            const at = (col * blocks + b) * (blockSize / 2) + (i >> 1);
            packed[at] = packed[at]! | (i % 2 === 0 ? q : q << 4);
          }
        }
      }
      replacedInits.add(w.field);
      const name = ins[1]!;
      added.push(initializerField(`${name}_q4`, DTYPE.uint8, packed, [N, blocks, blockSize / 2]), initializerField(`${name}_scales`, DTYPE.float, new Uint8Array(scales.buffer), [N * blocks]));
      if (opts.zeroPoints) added.push(initializerField(`${name}_zeros`, DTYPE.uint8, zeros, [N * zeroRow]));
      if (opts.bias) added.push(initializerField(`${name}_bias`, DTYPE.float, new Uint8Array(Float32Array.from({ length: N }, (_, i) => ((i % 7) - 3) / 100).buffer), [N]));
      const outs = n.filter((x) => x.no === NODE.output).map((x) => text(x.body));
      const extra = [...(opts.zeroPoints || opts.bias ? [opts.zeroPoints ? `${name}_zeros` : ""] : []), ...(opts.bias ? ["", `${name}_bias`] : [])];
      const node = nodeField("MatMulNBits", [ins[0]!, `${name}_q4`, `${name}_scales`, ...extra], outs, `${name}_matmulnbits`, [intAttr("K", K), intAttr("N", N), intAttr("bits", 4), intAttr("block_size", blockSize)]);
      return [{ no: -1, raw: bytesField(GRAPH.node, concat([parseFields(node)[0]!.body, stringField(NODE.domain, "com.microsoft")])) } as unknown as Field];
    });
    return [...out.filter((f) => !replacedInits.has(f)).map((f) => f.raw), ...added];
  });
}

/** The KV inputs' declared shape replaced by `dims` (e.g. a BSNH [batch, seq, heads, dim] export's); nodes untouched. */
export function withDeclaredKvDims(model: Uint8Array, dims: (number | string)[]): Uint8Array {
  return editGraph(model, (graph) =>
    graph.map((f) => {
      if (f.no !== GRAPH.input || !nameOf(f).startsWith("past_key_values.")) return f.raw;
      return bytesField(GRAPH.input, valueInfo(nameOf(f), DTYPE.float, dims));
    }),
  );
}
