// The bundle's manifest, inlined: `wasmbridge build` writes this file into
// every bundle with that build's manifest (the same as manifest.json), and
// pool-load.js imports it statically, so the manifest arrives with the
// runtime's own modules and the module's request can go out at once. This
// copy, the npm package's, holds none: a pool then fetches manifest.json from
// its bundle.

export default null;
