// What the reference page (bench/site/references.html) needs besides the
// demo guest's simd128 bundle at simd/ and its `--threads` bundle at threads/
// (the 2-thread matmul pair): its own files from bench/site, and the
// two libraries from the npm packages of js/ (pinned in js/package.json),
// served under vendor/. bench/run.mjs lays them out for `cargo xtask bench`,
// js/test/references.test.mjs for the browser test.

import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files of bench/site the page loads. */
export const PAGE_FILES = ['references.html', 'references.js', 'reference-worker.js', 'kernel-worker.js', 'worker-client.js', 'data.js', 'kernels.js', 'guest.js'];

/** vendor/<name> → its path in js/node_modules. */
export const VENDOR_FILES = Object.fromEntries(Object.entries({
  'opencv.js': '@techstark/opencv-js/dist/opencv.js',
  'tf-core.min.js': '@tensorflow/tfjs-core/dist/tf-core.min.js',
  'tf-backend-wasm.min.js': '@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js',
  'tfjs-backend-wasm.wasm': '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm': '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm': '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
}).map(([name, from]) => [`vendor/${name}`, join(REPO, 'js', 'node_modules', from)]));

/** bench/site/<file> for each page file. */
export const pageFile = (name) => join(REPO, 'bench', 'site', name);
