// Loading a bundle: which of its modules runs, its manifest, and the
// compiled module. Every failure is INIT_FAILED with what was expected and
// what came instead.

import { CODES } from './protocol.js';
import { WasmBridgeError, messageOf } from './error.js';
import inlined from './manifest.js';

/**
 * @typedef {{ kind: 'threaded' | 'plain', glue: string, wasm: string, threads: number, reason: string }} ModuleChoice
 */

/**
 * Which module of the bundle a pool runs: the threaded one (`wasmbridge build
 * --threads`) only when the bundle has one, the page is cross-origin isolated
 * and the pool's `threads` option allows it ('auto': as many threads as
 * `navigator.hardwareConcurrency` says; a count; false: the plain module).
 * @param {{ glue: string, wasm: string, threads?: { glue: string, wasm: string } }} manifest
 * @param {'auto' | number | false} option
 * @param {boolean} onIsolatedPage
 * @returns {ModuleChoice}
 */
export function chooseModule(manifest, option, onIsolatedPage) {
  const plain = (/** @type {string} */ reason) => ({ kind: /** @type {const} */ ('plain'), glue: manifest.glue, wasm: manifest.wasm, threads: 0, reason });
  const threaded = manifest.threads;
  if (!threaded) return plain('the bundle has no threaded module (it was built without --threads)');
  if (typeof threaded.glue !== 'string' || typeof threaded.wasm !== 'string') {
    return plain('the manifest\'s threaded module has no glue or wasm file name');
  }
  if (option === false) return plain('the pool option threads is false');
  if (!onIsolatedPage) return plain('the page is not cross-origin isolated, so it cannot share wasm memory between workers');
  const threads = option === 'auto' ? Math.max(1, globalThis.navigator?.hardwareConcurrency || 1) : option;
  return { kind: 'threaded', glue: threaded.glue, wasm: threaded.wasm, threads, reason: 'the page is cross-origin isolated and the bundle has a threaded module' };
}

/**
 * The manifest a pool has without a request, or null when it must fetch
 * manifest.json: the `manifest` option (false: always fetch), else the one
 * `wasmbridge build` inlined into manifest.js next to this file, when the
 * pool's bundle is that directory (a `bundle` option naming another directory
 * has a manifest of its own). Returns the manifest and where it came from, for
 * error messages.
 * @param {object | false | undefined} option
 * @param {URL} bundle
 * @returns {{ manifest: any, source: string } | null}
 */
export function knownManifest(option, bundle) {
  if (option === false) return null;
  if (option !== undefined) return { manifest: checkManifest(option, 'the manifest option'), source: 'the manifest option' };
  // Through a variable: bundlers treat `new URL('<literal>', import.meta.url)`
  // as a file to emit, and this is a directory.
  const here = import.meta.url;
  if (inlined === null || bundle.href !== new URL('./', here).href) return null;
  const source = new URL('manifest.js', bundle).href;
  return { manifest: checkManifest(inlined, source), source };
}

/** `manifest` itself when it has what a pool reads; else INIT_FAILED naming `source`. */
function checkManifest(manifest, source) {
  if (!manifest || typeof manifest.wasm !== 'string' || typeof manifest.glue !== 'string' || !Array.isArray(manifest.functions)) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${source} is not a wasmbridge manifest: expected wasm, glue and functions fields`);
  }
  return manifest;
}

export async function fetchManifest(url) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `could not fetch ${url}: ${messageOf(err)}`);
  }
  if (!response.ok) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `fetching ${url} failed: ${response.status} ${response.statusText}`.trim());
  }
  let manifest;
  try {
    manifest = await response.json();
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is not valid JSON: ${messageOf(err)}`);
  }
  return { manifest: checkManifest(manifest, String(url)), source: String(url) };
}

/**
 * Fetches and compiles the guest once; reports bytes loaded when asked.
 * `source` says where the manifest came from: a manifest from another build
 * than the files (an old inlined or passed manifest) shows as a missing file
 * or one that fails its integrity check, and the message says so.
 */
export async function compileModule(url, manifest, source, onLoadProgress) {
  const integrity = manifest.files?.[manifest.wasm]?.integrity;
  const stale = `: is the manifest (${source}) from another build than the bundle's files?`;
  let response;
  try {
    response = await fetch(url, integrity ? { integrity } : {});
  } catch (err) {
    const checked = integrity ? ` with the manifest's integrity ${integrity}` : '';
    throw new WasmBridgeError(CODES.INIT_FAILED, `could not fetch ${url}${checked}: ${messageOf(err)}${integrity ? stale : ''}`);
  }
  if (!response.ok) {
    const status = `${response.status} ${response.statusText}`.trim();
    throw new WasmBridgeError(CODES.INIT_FAILED, `fetching ${url} failed: ${status}${response.status === 404 ? stale : ''}`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/wasm')) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is served as ${JSON.stringify(type)}, expected "application/wasm": fix the server's MIME type`);
  }
  if (onLoadProgress && response.body) {
    const total = manifest.files?.[manifest.wasm]?.size || Number(response.headers.get('content-length')) || 0;
    let loaded = 0;
    const counted = response.body.pipeThrough(new TransformStream({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        try { onLoadProgress(loaded, total); } catch { /* a progress callback must not break loading */ }
        controller.enqueue(chunk);
      },
    }));
    response = new Response(counted, { headers: response.headers });
  }
  try {
    return await WebAssembly.compileStreaming(response);
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is not a valid WebAssembly module: ${messageOf(err)}`);
  }
}

/**
 * Checks the glue against its integrity hash on the page, beside the module's
 * download, for the pool's first workers: each would otherwise fetch it with
 * the hash (import() cannot check integrity) only once its script runs, and
 * import it after. Page and dedicated workers share the HTTP cache, so their
 * import finds it there. Without a hash it is only downloaded. Workers
 * started later check it themselves, in case the bundle changed since.
 * `source` says where the manifest came from, as for compileModule.
 * @param {string} url
 * @param {string | null} integrity
 * @param {string} source
 */
export async function checkGlue(url, integrity, source) {
  const stale = `: is the manifest (${source}) from another build than the bundle's files?`;
  let response;
  try {
    response = await fetch(url, integrity ? { integrity } : {});
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, integrity
      ? `${url} does not match its integrity hash ${integrity} (${messageOf(err)})${stale}`
      : `could not fetch ${url}: ${messageOf(err)}`);
  }
  if (!response.ok) {
    const status = `${response.status} ${response.statusText}`.trim();
    throw new WasmBridgeError(CODES.INIT_FAILED, `fetching ${url} failed: ${status}${response.status === 404 ? stale : ''}`);
  }
  // Read to the end, so that the cache holds the whole file.
  await response.arrayBuffer();
}
