// The libraries a web developer would pick instead of wasmbridge, run the way
// the demo guest's kernels run (bench/site/kernel-worker.js): a typed array in,
// a new typed array out, the copies into and out of the library's wasm heap
// inside the timed region, as wasm-bindgen's are in ours. A classic worker,
// because both libraries ship as UMD scripts that set a global
// (`cv`, `tf`) under importScripts.
//
// `{ cmd: 'init', impl, threads }`: impl 'opencv' (@techstark/opencv-js 4.5.2,
// vendor/opencv.js) or 'tfjs' (@tensorflow/tfjs-core + tfjs-backend-wasm
// 4.22.0, vendor/; `threads` XNNPACK threads, used when the page is
// cross-origin isolated). `{ cmd: 'input', kernel, input }` keeps the input
// a kernel is timed on (the page builds it with data.js, as ours is built);
// then `{ cmd: 'run', kernel, reps }` answers `{ samples, check }` as
// kernel-worker.js does; `{ cmd: 'call', kernel,
// input }` runs one call on a transferred input and answers with the output,
// transferred (the end-to-end path); `{ cmd: 'output', kernel, input }` the
// same, for the tests.

/* global importScripts, cv, tf */

const IMG = { w: 1920, h: 1080 };
const SIGMA = 2;
const BOX_RADIUS = 3;

let impl = '';
/** @type {Record<string, (input: any) => any>} kernel → one call on an input */
let table = {};
let info = {};

async function initOpencv() {
  importScripts('./vendor/opencv.js');
  // In a worker the script leaves its factory in `cv`. The Module it returns
  // is thenable and hands itself to `then`, so awaiting it would never end:
  // take it through `then` once and drop the method.
  self.cv = await new Promise((resolve) => {
    self.cv().then((module) => {
      delete module.then;
      resolve(module);
    });
  });
  const { w, h } = IMG;
  const rgba = new cv.Mat(h, w, cv.CV_8UC4);
  const gray = new cv.Mat(h, w, cv.CV_8UC1);
  const out = new cv.Mat(h, w, cv.CV_8UC4);
  const anchor = new cv.Point(-1, -1);
  // Our filters clamp at the edges: OpenCV's BORDER_REPLICATE. Its default
  // (BORDER_REFLECT_101) would be a different filter.
  const image = (f) => (px) => { rgba.data.set(px); f(); return f === grayscale ? gray.data.slice() : out.data.slice(); };
  const grayscale = () => cv.cvtColor(rgba, gray, cv.COLOR_RGBA2GRAY);
  const ksize = 2 * Math.ceil(3 * SIGMA) + 1;
  table = {
    grayscaleLuma: image(grayscale),
    gaussian: image(() => cv.GaussianBlur(rgba, out, new cv.Size(ksize, ksize), SIGMA, SIGMA, cv.BORDER_REPLICATE)),
    box3: image(() => cv.blur(rgba, out, new cv.Size(2 * BOX_RADIUS + 1, 2 * BOX_RADIUS + 1), anchor, cv.BORDER_REPLICATE)),
  };
  info = { build: cv.getBuildInformation().match(/General configuration for OpenCV ([^\s=]+)/)?.[1] ?? 'unknown', threads: 1 };
}

async function initTfjs(threads) {
  importScripts('./vendor/tf-core.min.js', './vendor/tf-backend-wasm.min.js');
  tf.wasm.setWasmPaths(new URL('./vendor/', self.location.href).href);
  tf.wasm.setThreadsCount(threads);
  // 4.22's backend caps XNNPACK's threads at navigator.hardwareConcurrency / 2
  // (init_with_threads_count in tfjs-backend-wasm/src/cc/backend.cc, read when
  // the module starts), whatever setThreadsCount asks: 1 on 2 cores. To run
  // the same number of threads as ours, this worker reports twice the threads
  // asked for when that is more than the machine has; the threads still share
  // the machine's real cores.
  const reported = navigator.hardwareConcurrency;
  if (threads * 2 > reported) Object.defineProperty(navigator, 'hardwareConcurrency', { value: threads * 2, configurable: true });
  await tf.setBackend('wasm');
  await tf.ready();
  const n = 512;
  table = {
    matmulF32_512: ({ a, b }) => {
      const ta = tf.tensor2d(a, [n, n], 'float32');
      const tb = tf.tensor2d(b, [n, n], 'float32');
      const c = tf.matMul(ta, tb);
      const out = c.dataSync();
      tf.dispose([ta, tb, c]);
      return out;
    },
  };
  info = {
    version: tf.version_core,
    backend: tf.getBackend(),
    threads: tf.wasm.getThreadsCount(),
    hardwareConcurrency: reported,
    hardwareConcurrencyShown: navigator.hardwareConcurrency,
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

function checksum(arr) {
  let s = 0;
  for (let i = 0; i < arr.length; i += 97) s += Number(arr[i]);
  return Math.round(s * 1000) / 1000;
}

const inputs = new Map();

function run(kernel, reps) {
  const f = table[kernel];
  if (!f) return { unsupported: true };
  const x = inputs.get(kernel);
  if (x === undefined) throw new Error(`no input for ${kernel}: send it with { cmd: 'input' } first`);
  let last = f(x);
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    last = f(x);
    samples.push(performance.now() - t0);
  }
  return { samples, check: checksum(last) };
}

self.onmessage = async (e) => {
  const { id, cmd } = e.data;
  try {
    if (cmd === 'init') {
      impl = e.data.impl;
      if (impl === 'opencv') await initOpencv();
      else if (impl === 'tfjs') await initTfjs(e.data.threads ?? 1);
      else throw new Error(`unknown reference ${impl}`);
      self.postMessage({ id, ok: true, value: { kernels: Object.keys(table), ...info } });
    } else if (cmd === 'input') {
      inputs.set(e.data.kernel, e.data.input);
      self.postMessage({ id, ok: true, value: null });
    } else if (cmd === 'run') {
      self.postMessage({ id, ok: true, value: run(e.data.kernel, e.data.reps) });
    } else if (cmd === 'call' || cmd === 'output') {
      const f = table[e.data.kernel];
      if (!f) throw new Error(`${impl} has no kernel ${e.data.kernel}`);
      const out = f(e.data.input);
      self.postMessage({ id, ok: true, value: out }, [out.buffer]);
    }
  } catch (err) {
    self.postMessage({ id, ok: false, error: `${impl}: ${err && err.stack ? err.stack : err}` });
  }
};
