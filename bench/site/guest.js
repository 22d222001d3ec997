// Loads a demo-guest bundle's wasm-bindgen glue and module directly (no
// pool), by the file names its manifest gives (they carry content hashes).

/** Imports and initialises the guest of bundle directory `dir` ('plain' or 'simd'); resolves with the glue's exports. */
export async function loadGuest(dir) {
  const base = new URL(`./${dir}/`, import.meta.url);
  const manifest = await (await fetch(new URL('manifest.json', base))).json();
  const glue = await import(new URL(manifest.glue, base).href);
  await glue.default({ module_or_path: new URL(manifest.wasm, base) });
  return glue;
}
