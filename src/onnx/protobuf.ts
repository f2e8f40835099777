/**
 * Just enough of the protobuf wire format to edit an ONNX graph without a schema library: split a
 * message into its fields (keeping each field's raw bytes, so untouched fields — the weights — are
 * copied, never decoded), and encode fields back. Lengths above 2^31 are handled with arithmetic,
 * not 32-bit bit operations.
 */
import { EdgespecError } from "../errors.ts";

export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export interface Field {
  no: number;
  wire: number;
  /** The whole field as it appears on the wire (tag included), for verbatim re-encoding. */
  raw: Uint8Array;
  /** The payload of a length-delimited field, or the value of a varint field. */
  body: Uint8Array;
  value: number;
}

/**
 * A varint as a number. Values past 2^53 only occur as negative int64s (ten bytes on the wire);
 * they are read exactly through BigInt and returned as the signed value.
 */
function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  const start = pos;
  for (;;) {
    if (pos >= buf.length) throw new EdgespecError("model_invalid", "truncated protobuf (varint)");
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
    if (pos - start >= 10) throw new EdgespecError("model_invalid", "malformed protobuf varint");
  }
  if (value < 2 ** 53) return [value, pos];
  let big = 0n;
  for (let i = pos - 1; i >= start; i--) big = (big << 7n) | BigInt(buf[i]! & 0x7f);
  return [Number(BigInt.asIntN(64, big)), pos];
}

/** The values of a packed repeated varint field (e.g. an attribute's `ints`). */
export function packedVarints(body: Uint8Array): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < body.length; ) {
    let v: number;
    [v, pos] = readVarint(body, pos);
    out.push(v);
  }
  return out;
}

export function parseFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    let body = buf.subarray(pos, pos);
    let value = 0;
    if (wire === WIRE.varint) {
      [value, pos] = readVarint(buf, pos);
    } else if (wire === WIRE.bytes) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new EdgespecError("model_invalid", "truncated protobuf (length-delimited field)");
      body = buf.subarray(p2, p2 + len);
      pos = p2 + len;
    } else if (wire === WIRE.fixed64) {
      pos += 8;
    } else if (wire === WIRE.fixed32) {
      pos += 4;
    } else {
      throw new EdgespecError("model_invalid", `unsupported protobuf wire type ${wire}`);
    }
    if (no === 0 || pos > buf.length) throw new EdgespecError("model_invalid", "malformed protobuf field");
    fields.push({ no, wire, raw: buf.subarray(start, pos), body, value });
  }
  return fields;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited field (string, bytes or sub-message). */
export function bytesField(no: number, body: Uint8Array): Uint8Array {
  const head = [...varint(no * 8 + WIRE.bytes), ...varint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export function stringField(no: number, s: string): Uint8Array {
  return bytesField(no, new TextEncoder().encode(s));
}

export function varintField(no: number, value: number): Uint8Array {
  return Uint8Array.from([...varint(no * 8 + WIRE.varint), ...varint(value)]);
}

/** A signed int64 varint field (negative values take ten bytes, two's complement). */
export function int64Field(no: number, value: number): Uint8Array {
  if (value >= 0) return varintField(no, value);
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [...varint(no * 8 + WIRE.varint)];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/**
 * The model (its top-level fields) with the graph field's body made of `graphParts`, in one
 * allocation: a rewrite of a 100 MB model costs one new 100 MB buffer, not one per nesting level.
 */
export function withGraphBody(model: readonly Field[], graphField: Field, graphParts: readonly Uint8Array[]): Uint8Array {
  let body = 0;
  for (const p of graphParts) body += p.length;
  const head = Uint8Array.from([...varint(graphField.no * 8 + WIRE.bytes), ...varint(body)]);
  let n = 0;
  for (const f of model) n += f === graphField ? head.length + body : f.raw.length;
  const out = new Uint8Array(n);
  let o = 0;
  const put = (p: Uint8Array) => {
    out.set(p, o);
    o += p.length;
  };
  for (const f of model) {
    if (f !== graphField) put(f.raw);
    else {
      put(head);
      for (const p of graphParts) put(p);
    }
  }
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function text(body: Uint8Array): string {
  return new TextDecoder().decode(body);
}
