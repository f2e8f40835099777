/**
 * int64 tensors <-> JS numbers without a BigInt per element. onnxruntime takes and returns token
 * ids, positions and top-k ids as int64; converting each through BigInt/Number cost ~40-60 ns an
 * element (a 33-row verify's top-8 ids: 17-25 us), reading and writing the 32-bit halves ~5 ns.
 * Exact for the values that pass through here: integers within int32 (ids, positions).
 */

/** Whether typed arrays are little-endian here (every platform onnxruntime-web runs on is; checked once, not assumed). */
let little: boolean | undefined;
function littleEndian(): boolean {
  little ??= new Int32Array(BigInt64Array.of(1n).buffer)[0] === 1;
  return little;
}

/** `count` int64 values of `big` from `start`, as int32 (each value's low 32 bits, as Int32Array.from(big, Number) would store them). */
export function int32sOf(big: BigInt64Array, start = 0, count = big.length - start): Int32Array {
  const out = new Int32Array(count);
  if (!littleEndian()) {
    for (let i = 0; i < count; i++) out[i] = Number(big[start + i]!);
    return out;
  }
  const words = new Int32Array(big.buffer, big.byteOffset + 8 * start, 2 * count);
  for (let i = 0; i < count; i++) out[i] = words[2 * i]!;
  return out;
}

/** `values` (integers within int32) as an int64 array. */
export function int64sOf(values: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  if (!littleEndian()) {
    for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!);
    return out;
  }
  const words = new Int32Array(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    words[2 * i] = v;
    words[2 * i + 1] = v < 0 ? -1 : 0;
  }
  return out;
}
