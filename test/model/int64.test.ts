/** int64 <-> int32 without BigInt per element (src/model/int64.ts): the same values as the BigInt route. */
import { expect, test } from "bun:test";
import { int32sOf, int64sOf } from "../../src/model/int64.ts";
import { Rng } from "../../src/decode/rng.ts";

test("int64sOf writes what BigInt writes, for every int32", () => {
  const rng = new Rng(3);
  const values = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 16383, ...Array.from({ length: 2000 }, () => Math.floor((rng.next() - 0.5) * 2 ** 32))];
  expect(Array.from(int64sOf(values))).toEqual(values.map((v) => BigInt(v)));
});

test("int32sOf reads what Int32Array.from(big, Number) reads, from any start", () => {
  const rng = new Rng(4);
  const big = BigInt64Array.from({ length: 3000 }, (_, i) => BigInt(i < 10 ? [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40 + 5, -(2 ** 40) - 7, 2 ** 53 - 1, 16383][i]! : Math.floor((rng.next() - 0.5) * 2 ** 34)));
  expect(Array.from(int32sOf(big))).toEqual(Array.from(Int32Array.from(big, Number)));
  expect(Array.from(int32sOf(big, 7, 100))).toEqual(Array.from(Int32Array.from(big.subarray(7, 107), Number)));
  // A view into a larger buffer (onnxruntime's outputs can be).
  const view = new BigInt64Array(big.buffer, 8 * 5, 50);
  expect(Array.from(int32sOf(view))).toEqual(Array.from(Int32Array.from(view, Number)));
});
