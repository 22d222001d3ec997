// Plain JavaScript versions of the benchmark kernels, the baseline a page
// would write without WebAssembly. Same inputs and outputs as the Rust guest.

/** F(n) iteratively on doubles, as the seed's Go code: exact only up to F(78). */
export function fibIterative(n) {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) {
    const t = a + b;
    a = b;
    b = t;
  }
  return a;
}

/** F(n) by the textbook recursion, exponential time. */
export function fibRecursive(n) {
  return n < 2 ? n : fibRecursive(n - 1) + fibRecursive(n - 2);
}

/** F(n) exactly as a decimal string, by fast doubling on BigInts. */
export function fibBig(n) {
  let a = 0n;
  let b = 1n;
  for (let bit = 31 - Math.clz32(n); bit >= 0; bit--) {
    const c = a * ((b << 1n) - a);
    const d = a * a + b * b;
    if ((n >>> bit) & 1) { a = d; b = c + d; } else { a = c; b = d; }
  }
  return a.toString();
}

/**
 * The seed's trial division on a safe integer (JS numbers are exact only
 * below 2^53, so the 19-digit benchmark semiprime cannot be done this way).
 */
export function trialDivision(n) {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`trialDivision needs a safe positive integer, got ${n}`);
  const factors = [];
  while (n % 2 === 0) { factors.push(2); n /= 2; }
  for (let i = 3; i * i <= n; i += 2) {
    while (n % i === 0) { factors.push(i); n /= i; }
  }
  if (n > 2) factors.push(n);
  return factors;
}

/** c = a·b, row-major, the textbook i-j-k loop. */
export function matmulNaive(a, b, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
  return c;
}

/** c = a·b, row-major, 64×64 blocks with an i-k-j inner order (streams rows of b). */
export function matmulBlocked(a, b, m, k, n, bs = 64) {
  const c = new Float64Array(m * n);
  for (let i0 = 0; i0 < m; i0 += bs) {
    const i1 = Math.min(i0 + bs, m);
    for (let p0 = 0; p0 < k; p0 += bs) {
      const p1 = Math.min(p0 + bs, k);
      for (let j0 = 0; j0 < n; j0 += bs) {
        const j1 = Math.min(j0 + bs, n);
        for (let i = i0; i < i1; i++) {
          const ci = i * n;
          for (let p = p0; p < p1; p++) {
            const aip = a[i * k + p];
            const bp = p * n;
            for (let j = j0; j < j1; j++) c[ci + j] += aip * b[bp + j];
          }
        }
      }
    }
  }
  return c;
}

/** The seed's grayscale loop (Rec. 601 weights, truncated), into a new array; alpha kept. */
export function grayscale(px) {
  const out = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i += 4) {
    const g = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
    out[i] = g; out[i + 1] = g; out[i + 2] = g; out[i + 3] = px[i + 3];
  }
  return out;
}

/** Normalised 1-D Gaussian weights with radius ⌈3σ⌉. */
function gaussianWeights(sigma) {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const w = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) { w[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma)); sum += w[i + r]; }
  for (let i = 0; i < w.length; i++) w[i] /= sum;
  return { w, r };
}

/** Separable Gaussian blur of RGB (alpha kept), edges clamped; a new array. */
export function gaussianBlur(px, width, height, sigma) {
  const { w, r } = gaussianWeights(sigma);
  const tmp = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s0 = 0, s1 = 0, s2 = 0;
      for (let i = -r; i <= r; i++) {
        let xx = x + i;
        if (xx < 0) xx = 0; else if (xx >= width) xx = width - 1;
        const o = (row + xx) * 4;
        const wi = w[i + r];
        s0 += px[o] * wi; s1 += px[o + 1] * wi; s2 += px[o + 2] * wi;
      }
      const t = (row + x) * 3;
      tmp[t] = s0; tmp[t + 1] = s1; tmp[t + 2] = s2;
    }
  }
  const out = new Uint8Array(px.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s0 = 0, s1 = 0, s2 = 0;
      for (let i = -r; i <= r; i++) {
        let yy = y + i;
        if (yy < 0) yy = 0; else if (yy >= height) yy = height - 1;
        const t = (yy * width + x) * 3;
        const wi = w[i + r];
        s0 += tmp[t] * wi; s1 += tmp[t + 1] * wi; s2 += tmp[t + 2] * wi;
      }
      const o = (y * width + x) * 4;
      out[o] = s0 + 0.5; out[o + 1] = s1 + 0.5; out[o + 2] = s2 + 0.5; out[o + 3] = px[o + 3];
    }
  }
  return out;
}
