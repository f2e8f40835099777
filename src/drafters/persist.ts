/**
 * The file format of saved drafter state (Token Recycling tables, corpus indexes), little-endian:
 *   magic (4 ASCII) | version u32 | vocabSize u32 | fingerprint (u32 length + UTF-8, padded to 4)
 *   | field count u32 | fields u32… | arrays: (element bytes u32 (2|4) | count u32 | data, padded to 4)…
 * Loading checks magic, version, vocabulary size and tokenizer fingerprint before reading any array,
 * and every length against the bytes actually there.
 */
import { EdgespecError } from "../errors.ts";

export interface StateIdentity {
  /** Tokenizer fingerprint (see fingerprint.ts); "" when the caller did not give one. */
  fingerprint: string;
  vocabSize: number;
}

export interface SavedState {
  fields: number[];
  arrays: (Int32Array | Uint16Array)[];
}

/** State saved for one tokenizer / vocabulary offered to a drafter with another. */
export class TokenizerMismatchError extends EdgespecError {
  constructor(
    what: string,
    readonly saved: StateIdentity,
    readonly expected: StateIdentity,
  ) {
    super(
      "invalid_argument",
      `${what} was saved for tokenizer "${saved.fingerprint || "(unknown)"}" with ${saved.vocabSize} tokens, ` +
        `but this drafter uses tokenizer "${expected.fingerprint || "(unknown)"}" with ${expected.vocabSize} tokens; rebuild it for this tokenizer`,
    );
  }
}

const pad4 = (n: number) => (n + 3) & ~3;

export function writeState(magic: string, version: number, id: StateIdentity, state: SavedState): Uint8Array {
  const fp = new TextEncoder().encode(id.fingerprint);
  let size = 16 + pad4(fp.length) + 4 + 4 * state.fields.length;
  for (const a of state.arrays) size += 8 + pad4(a.byteLength);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const u32 = (v: number) => {
    view.setUint32(at, v >>> 0, true);
    at += 4;
  };
  for (let i = 0; i < 4; i++) bytes[at++] = magic.charCodeAt(i);
  u32(version);
  u32(id.vocabSize);
  u32(fp.length);
  bytes.set(fp, at);
  at += pad4(fp.length);
  u32(state.fields.length);
  state.fields.forEach(u32);
  for (const a of state.arrays) {
    u32(a.BYTES_PER_ELEMENT);
    u32(a.length);
    if (a instanceof Uint16Array) for (let i = 0; i < a.length; i++, at += 2) view.setUint16(at, a[i]!, true);
    else for (let i = 0; i < a.length; i++, at += 4) view.setInt32(at, a[i]!, true);
    at = pad4(at);
  }
  return bytes;
}

/** Reads state written by `writeState`; refuses another format, version or tokenizer with a typed error. */
export function readState(bytes: Uint8Array, magic: string, version: number, expected: StateIdentity, what: string): SavedState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const corrupt = (why: string): never => {
    throw new EdgespecError("invalid_argument", `${what} is not valid saved state: ${why}`);
  };
  const need = (n: number) => {
    if (at + n > bytes.length) corrupt(`truncated at byte ${at}`);
  };
  const u32 = () => {
    need(4);
    at += 4;
    return view.getUint32(at - 4, true);
  };
  need(4);
  const found = String.fromCharCode(...bytes.subarray(0, 4));
  if (found !== magic) corrupt(`expected a "${magic}" file, found ${JSON.stringify(found)}`);
  at = 4;
  const v = u32();
  if (v !== version) corrupt(`format version ${v}, this edgespec reads ${version}`);
  const vocabSize = u32();
  const fpLength = u32();
  need(fpLength);
  const fingerprint = new TextDecoder().decode(bytes.subarray(at, at + fpLength));
  at += pad4(fpLength);
  if (fingerprint !== expected.fingerprint || vocabSize !== expected.vocabSize) {
    throw new TokenizerMismatchError(what, { fingerprint, vocabSize }, expected);
  }
  const fields = Array.from({ length: u32() }, u32);
  const arrays: (Int32Array | Uint16Array)[] = [];
  while (at < bytes.length) {
    const width = u32();
    const count = u32();
    if (width !== 2 && width !== 4) corrupt(`array element size ${width}`);
    need(count * width);
    const a = width === 2 ? new Uint16Array(count) : new Int32Array(count);
    if (a instanceof Uint16Array) for (let i = 0; i < count; i++, at += 2) a[i] = view.getUint16(at, true);
    else for (let i = 0; i < count; i++, at += 4) a[i] = view.getInt32(at, true);
    at = pad4(at);
    arrays.push(a);
  }
  return { fields, arrays };
}
