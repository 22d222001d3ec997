// A request/answer client over one worker, shared by the bench pages: every
// request carries an id, the worker answers `{ id, ok, value }` or
// `{ id, ok: false, error }`.

/**
 * Starts `url` as a worker and sends it `init` at once; `ready` settles with
 * the answer to it.
 * @param {string} url
 * @param {WorkerOptions} options
 * @param {object} init the first request
 */
export function workerClient(url, options, init) {
  const worker = new Worker(url, options);
  let next = 1;
  const pending = new Map();
  worker.onmessage = (e) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.ok) p.resolve(e.data.value); else p.reject(new Error(e.data.error));
  };
  worker.onerror = (e) => { for (const p of pending.values()) p.reject(new Error(`${options.name ?? url}: ${e.message}`)); pending.clear(); };
  const ask = (msg, transfer = []) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, ...msg }, transfer);
  });
  return { ask, ready: ask(init), worker };
}
