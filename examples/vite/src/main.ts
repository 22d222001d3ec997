// Calls the Rust guest (guest/src/lib.rs) through the wasmbridge package.
// `npm run wasm` builds the guest into public/wasm/, which Vite serves as
// static files at /wasm/ and copies into dist/wasm/ on `vite build`.

import { createPool, WasmBridgeError } from 'wasmbridge';

// Only the guest's declarations are read here (the import is erased): the
// pool loads the guest itself, at run time, from the bundle URL.
type Guest = typeof import('../public/wasm/vite_example_guest.js');

const result = document.querySelector<HTMLPreElement>('#result');
const isolated = document.querySelector<HTMLOutputElement>('#isolated');

async function main(): Promise<void> {
  if (isolated) isolated.textContent = String(crossOriginIsolated);
  const pool = await createPool<Guest>({ bundle: `${import.meta.env.BASE_URL}wasm/`, size: 2 });
  const values = new Float64Array([2, 4, 4, 4, 5, 5, 7, 9]);
  const [mean, deviation, greeting] = await Promise.all([
    pool.api.mean(values),
    pool.api.standardDeviation(values),
    pool.call('greet', 'Vite'),
  ]);
  let emptyMean = '';
  try {
    await pool.api.mean(new Float64Array());
  } catch (e) {
    emptyMean = e instanceof WasmBridgeError ? `${e.code}: ${e.message}` : String(e);
  }
  const shown = { mean, deviation, greeting, emptyMean, isolated: pool.isolated };
  if (result) result.textContent = JSON.stringify(shown, null, 2);
  document.body.dataset.state = 'done';
}

main().catch((e: unknown) => {
  if (result) result.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
  document.body.dataset.state = 'failed';
});
