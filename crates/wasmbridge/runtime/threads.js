// Threads: the shared-memory module of a bundle built with `wasmbridge build
// --threads`, loaded only when a pool runs it (pool.js's chooseModule picks
// it only on a cross-origin isolated page). The page half listens to a pool
// worker's thread workers; the worker half starts those thread workers, each
// instantiating the same module with the same shared memory and running one
// rayon thread (wasmbridge-guest's `threads` feature, src/threads.rs).
//
// Thread workers are nested dedicated workers of the pool worker: they end
// when it is terminated, so every path that stops a pool worker (recycling a
// stuck call, a trap, worker loss, close()) stops its threads too. A thread
// that traps cannot tell its pool worker, which is blocked waiting for the
// rayon job that will never finish; it tells the page on the slot's
// BroadcastChannel instead, and the page recycles the whole pool worker.

import { PROTOCOL, THREAD, threadStartMessage } from './protocol.js';

/**
 * The page's ear on one pool worker's threads: `onMessage` gets what they
 * post (traps, progress). Close it when the pool worker stops.
 * @param {string} name the init message's `threadChannel`
 * @param {(message: any) => void} onMessage
 * @returns {BroadcastChannel}
 */
export function listenToThreads(name, onMessage) {
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event) => {
    if (event.data?.wb === PROTOCOL) onMessage(event.data);
  };
  return channel;
}

/** The pool worker's thread workers, kept so nothing collects them while they run. */
const started = [];

/**
 * @typedef {{ worker: Worker, waiting: Promise<void> }} Thread a thread worker, and its report that it
 *   instantiated the module and waits for its rayon thread
 */

/**
 * Worker half, first step: starts `count` thread workers now, while the pool
 * worker still imports and instantiates the guest, since a worker takes tens
 * of milliseconds to start. Each is named after the glue at `glueUrl`, which
 * it imports as its script starts: call this only once the glue is checked.
 * @param {number} count
 * @param {string} glueUrl
 * @returns {Thread[]}
 */
export function spawnThreads(count, glueUrl) {
  const threads = [];
  for (let i = 0; i < count; i++) {
    const worker = new Worker(new URL('./thread-worker.js', import.meta.url), { type: 'module', name: `wasmbridge-thread-${i + 1} glue=${glueUrl}` });
    started.push(worker);
    const waiting = new Promise((resolve, reject) => {
      worker.onmessage = (event) => {
        const msg = event.data;
        if (msg?.wb !== PROTOCOL) return;
        if (msg.kind === THREAD.WAITING) resolve(undefined);
        else if (msg.kind === THREAD.FAILED) reject(new Error(`a thread worker could not start: ${msg.message}`));
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        reject(new Error(`a thread worker failed to load: ${event.message || 'script error'}`));
      };
    });
    waiting.catch(() => {}); // awaited in startThreads; a failure before then must not count as unhandled
    threads.push({ worker, waiting });
  }
  return threads;
}

/**
 * Worker half: gives the thread workers (`threads` from spawnThreads, else
 * `count` started now) the instance `glue` belongs to, waits until each has
 * instantiated the module and waits for its rayon thread, then builds
 * rayon's pool (which returns once every thread runs). A dedicated worker
 * cannot start while its parent blocks, so the waiting comes first and the
 * blocking build last.
 * @param {{ glue: any, glueUrl: string, module: WebAssembly.Module, count: number, control: SharedArrayBuffer, channel: string, threads?: Thread[] }} options
 */
export async function startThreads({ glue, glueUrl, module, count, control, channel, threads = spawnThreads(count, glueUrl) }) {
  if (typeof glue.__wasmbridge_threads_build !== 'function' || typeof glue.__wasmbridge_threads_memory !== 'function') {
    throw new Error('the threaded module has no thread pool: its `threads` feature must enable wasmbridge-guest/threads');
  }
  const memory = glue.__wasmbridge_threads_memory();
  for (const { worker } of threads) worker.postMessage(threadStartMessage({ module, memory, glue: glueUrl, control, channel }));
  await Promise.all(threads.map((t) => t.waiting));
  glue.__wasmbridge_threads_build(threads.length);
}
