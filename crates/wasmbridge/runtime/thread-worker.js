// A thread worker: a nested dedicated worker of a pool worker running a
// threaded module (threads.js). It instantiates the same module with the same
// shared memory, tells its parent it waits, and runs one rayon thread for
// the rest of its life. It has no calls of its own: `cancelled()` reads the
// pool worker's control block, and progress and traps go to the page on the
// slot's BroadcastChannel, since the parent is blocked while its threads work.

import {
  PROTOCOL, THREAD, CONTROL, HOST_PANIC, HOST_CANCELLED, HOST_PROGRESS,
  threadWaitingMessage, threadFailedMessage, threadTrappedMessage, progressMessage,
} from './protocol.js';
import { messageOf } from './error.js';

// The glue this thread runs, named by threads.js once the pool worker's glue
// is checked: imported as the script starts, while the pool worker still
// instantiates the guest, so the start message only has to instantiate.
const NAMED_GLUE = typeof self.name === 'string' && self.name.includes(' glue=') ? self.name.slice(self.name.indexOf(' glue=') + 6) : '';
const namedGlue = NAMED_GLUE ? import(/* @vite-ignore */ /* webpackIgnore: true */ NAMED_GLUE) : null;
namedGlue?.catch(() => {}); // awaited on the start message, which reports a failure

self.onmessage = async (event) => {
  const msg = event.data;
  if (!msg || msg.wb !== PROTOCOL || msg.kind !== THREAD.START) return;
  self.onmessage = null;
  const control = new Int32Array(msg.control);
  const channel = new BroadcastChannel(msg.channel);
  let panic = '';
  let lastProgressAt = 0;
  globalThis[HOST_PANIC] = (text) => { panic = String(text); };
  globalThis[HOST_CANCELLED] = () => {
    const running = Atomics.load(control, CONTROL.RUNNING);
    return running !== 0 && Atomics.load(control, CONTROL.CANCEL) === running;
  };
  globalThis[HOST_PROGRESS] = (fraction) => {
    const now = performance.now();
    if (fraction < 1 && now - lastProgressAt < 16) return;
    lastProgressAt = now;
    channel.postMessage(progressMessage(Atomics.load(control, CONTROL.RUNNING), fraction));
  };
  let glue;
  try {
    // The glue is the guest's, found at run time: bundlers must leave this import alone.
    glue = await (namedGlue !== null && msg.glue === NAMED_GLUE ? namedGlue : import(/* @vite-ignore */ /* webpackIgnore: true */ msg.glue));
    await glue.default({ module_or_path: msg.module, memory: msg.memory });
  } catch (err) {
    self.postMessage(threadFailedMessage(err instanceof Error ? `${err.name}: ${err.message}` : messageOf(err)));
    return;
  }
  self.postMessage(threadWaitingMessage());
  try {
    glue.__wasmbridge_thread_run();
  } catch (err) {
    channel.postMessage(threadTrappedMessage(panic, err instanceof Error ? `${err.name}: ${err.message}` : messageOf(err)));
  }
};
