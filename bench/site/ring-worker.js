// The producer of the ring throughput row of `cargo xtask bench`: a plain JS
// module worker that pushes bulk f32 into a RingBuffer (crates/wasmbridge/runtime/ring.js) made on the
// page. Element i of the stream is (i & 0xffff), pushed in large chunks from a
// precomputed pattern, so the page can check every element it pops.

import { RingBuffer } from './plain/ring.js';

let pattern = null;

self.onmessage = (e) => {
  const { buffer, count, chunk } = e.data;
  const ring = RingBuffer.from(buffer);
  if (!pattern || pattern.length < chunk + 65536) {
    pattern = new Float32Array(chunk + 65536);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i & 0xffff;
  }
  const views = new Array(65536);
  let written = 0;
  let spins = 0;
  const t0 = performance.now();
  while (written < count) {
    const want = Math.min(chunk, count - written);
    if (ring.free === 0) { spins += 1; continue; }
    const off = written & 0xffff;
    const src = views[off] ??= pattern.subarray(off, off + chunk);
    written += ring.push(src, want);
  }
  self.postMessage({ written, ms: performance.now() - t0, spins, overruns: ring.overruns });
};
self.postMessage({ ready: true });
