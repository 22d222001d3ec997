// Deterministic inputs shared by every implementation (and by the native
// bench, crates/compute/examples/native_bench.rs, which builds the same ones).

/** The semiprime 1000000007 × 1000000009. */
export const SEMIPRIME = '1000000016000000063';

/** Row-major n×n matrices a and b, as in the compute crate's criterion bench. */
export function matrices(n, Type = Float64Array) {
  const a = new Type(n * n);
  const b = new Type(n * n);
  for (let i = 0; i < n * n; i++) {
    a[i] = (i % 17) * 0.25 - 2;
    b[i] = (i % 13) * 0.5 - 3;
  }
  return { a, b };
}

/**
 * Row-major n×n f32 matrices in [-1, 1) whose products and sums round in f32
 * (unlike matrices(), whose values are multiples of 1/4 and 1/2 and sum
 * exactly), so two matmuls that add in different orders differ slightly.
 */
export function roundingMatrices(n) {
  const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 500 - 1);
  const b = Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 500 - 1);
  return { a, b };
}

/** A w×h RGBA image of pseudo-random bytes: byte i is the top byte of i·2654435761 (mod 2³²). */
export function image(w, h) {
  const px = new Uint8Array(w * h * 4);
  for (let i = 0; i < px.length; i++) px[i] = Math.imul(i, 2654435761) >>> 24;
  return px;
}

/** A short checksum of a typed array (sum of every 97th element), to compare implementations. */
export function checksum(arr) {
  let s = 0;
  for (let i = 0; i < arr.length; i += 97) s += Number(arr[i]);
  return Math.round(s * 1000) / 1000;
}
