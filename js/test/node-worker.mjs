// The runtime's worker.js in a Node.js worker_threads Worker, for
// scheduler.test.mjs: the globals a browser gives a module worker that
// worker.js uses (`self`, `postMessage`, `onmessage`, `close`) are mapped to
// the thread's port, and the guest's glue, which worker.js imports by URL
// from the server as a browser would, is fetched over HTTP through a module
// loader hook (Node imports only file: URLs by itself). worker.js itself
// runs unchanged. Run as a test file by `node --test test/` (it is in
// test/), it does nothing on the main thread.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { register } from 'node:module';

/** Resolves and loads http: modules, and relative imports from them, by fetching them. */
const HTTP_LOADER = `
export async function resolve(specifier, context, next) {
  if (/^https?:/.test(specifier)) return { url: specifier, shortCircuit: true };
  if (context.parentURL?.startsWith('http') && /^\\.{0,2}\\//.test(specifier)) {
    return { url: new URL(specifier, context.parentURL).href, shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!/^https?:/.test(url)) return next(url, context);
  const response = await fetch(url);
  if (!response.ok) throw new Error(\`fetching \${url} failed: \${response.status}\`);
  return { format: 'module', source: await response.text(), shortCircuit: true };
}
`;

if (!isMainThread && workerData?.worker) {
  register(`data:text/javascript,${encodeURIComponent(HTTP_LOADER)}`);
  const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
  globalThis.self = globalThis;
  globalThis.postMessage = (message, transfer) => port.postMessage(message, transfer);
  // The lane's worker closes itself after a trap (lane-worker.js).
  globalThis.close = () => process.exit(0);
  await import(workerData.worker);
  port.on('message', (data) => globalThis.onmessage({ data }));
}
