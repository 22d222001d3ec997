// The seed's Go worker (document 000, §11.3): loads wasm_exec.js and the Go
// module, queues calls made before Go announced `goReady`, and answers each
// `callGoFunction` message with a `goFunctionResult` message.
/* global Go */
importScripts('wasm_exec.js');

let goReady = false;
const pendingGoCalls = [];

function callGoFunction(funcName, ...args) {
  return new Promise((resolve, reject) => {
    if (!goReady) {
      pendingGoCalls.push({ funcName, args, resolve, reject });
      return;
    }
    try {
      const goFunc = self[funcName];
      if (typeof goFunc === 'function') {
        const result = goFunc(...args);
        if (result && typeof result.then === 'function') result.then(resolve).catch(reject);
        else resolve(result);
      } else {
        reject(new Error(`Go function ${funcName} does not exist`));
      }
    } catch (error) {
      reject(error);
    }
  });
}

const go = new Go();
const post = self.postMessage.bind(self);
// main() posts {cmd: 'goReady', functions} itself; note it and pass it on.
self.postMessage = (m, t) => {
  if (m && m.cmd === 'goReady') {
    goReady = true;
    for (const c of pendingGoCalls.splice(0)) callGoFunction(c.funcName, ...c.args).then(c.resolve, c.reject);
  }
  post(m, t);
};
WebAssembly.instantiateStreaming(fetch('main.wasm'), go.importObject)
  .then((result) => go.run(result.instance))
  .catch((error) => post({ cmd: 'goFailed', error: String(error) }));

self.onmessage = (e) => {
  if (e.data.cmd !== 'callGoFunction') return;
  const { funcName, args, callId } = e.data;
  callGoFunction(funcName, ...args)
    .then((result) => post({ cmd: 'goFunctionResult', callId, success: true, result }))
    .catch((error) => post({ cmd: 'goFunctionResult', callId, success: false, error: error.message }));
};
