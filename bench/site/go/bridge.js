// The seed's page side (document 000, §11.4): a call counter, a map of
// pending calls, a 10 s timeout per call, and `callGoFunctions` as a
// Promise.all of single calls. One worker, as in the seed's examples.
// (The seed never clears its per-call timer; here it is cleared on settle,
// which only makes the baseline faster.)

export function createGoBridge(base = new URL('./', import.meta.url)) {
  const worker = new Worker(new URL('worker.js', base), { name: 'go-seed' });
  let callCounter = 0;
  const pendingCalls = new Map();
  let readyResolve;
  let readyReject;
  const ready = new Promise((resolve, reject) => { readyResolve = resolve; readyReject = reject; });
  worker.onmessage = (e) => {
    const data = e.data;
    if (data.cmd === 'goFunctionResult') {
      const pending = pendingCalls.get(data.callId);
      if (!pending) return;
      pendingCalls.delete(data.callId);
      clearTimeout(pending.timer);
      if (data.success) pending.resolve(data.result);
      else pending.reject(new Error(data.error));
    } else if (data.cmd === 'goReady') {
      readyResolve(data.functions);
    } else if (data.cmd === 'goFailed') {
      readyReject(new Error(data.error));
    }
  };
  worker.onerror = (e) => readyReject(new Error(e.message || 'the Go worker failed'));

  function callGoFunction(funcName, ...args) {
    return new Promise((resolve, reject) => {
      const callId = ++callCounter;
      const timer = setTimeout(() => {
        if (pendingCalls.has(callId)) {
          pendingCalls.delete(callId);
          reject(new Error('Go function call timed out'));
        }
      }, 10000);
      pendingCalls.set(callId, { resolve, reject, timer });
      worker.postMessage({ cmd: 'callGoFunction', funcName, args, callId });
    });
  }

  return {
    ready,
    callGoFunction,
    callGoFunctions: (calls) => Promise.all(calls.map((c) => callGoFunction(c.funcName, ...c.args))),
    close: () => worker.terminate(),
  };
}
