// Cargo's runner for wasm32-wasip1 test binaries (the simd128 tier of
// `cargo xtask test`): runs the binary under Node's WASI with the whole file
// system visible, as a native test binary would see it, and exits with its
// status.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: process.env, preopens: { '/': '/' }, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
