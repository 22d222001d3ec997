// The CLI the way a user runs it: the binary `cargo install` put in a
// temporary root (WASMBRIDGE_INSTALLED, set by `cargo xtask test`), on guest
// crates written by `wasmbridge new` (or by hand) in a temporary directory
// outside the repository, built, served and called in Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { REPO, startServer, launchBrowser, openPage } from '../test/harness.mjs';

const BIN = process.env.WASMBRIDGE_INSTALLED;
if (!BIN) throw new Error('WASMBRIDGE_INSTALLED is not set: run these tests through `cargo xtask test`, which installs the CLI first');
const GUEST_PATH = process.env.WASMBRIDGE_GUEST_PATH ?? join(REPO, 'crates', 'wasmbridge-guest');
const SHARED_TARGET = process.env.WASMBRIDGE_CLI_TARGET;

let work;
let browser;

before(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'wasmbridge-cli-')));
  assert.ok(!work.startsWith(REPO), `the scratch directory ${work} must be outside the repository`);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Runs the installed CLI (or `program`) and returns its status and output.
 * RUST_BACKTRACE=1 stays set, as on the machines users have: errors must
 * still come without a backtrace.
 */
function sh(program, args, { cwd, env = {} } = {}) {
  const fullEnv = { ...process.env, RUST_BACKTRACE: '1', ...env };
  if (SHARED_TARGET && !('CARGO_TARGET_DIR' in env)) fullEnv.CARGO_TARGET_DIR = SHARED_TARGET;
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const r = spawnSync(program, args, { cwd, env: fullEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const wasmbridge = (args, opts) => sh(BIN, args, opts);

function ok(result, what) {
  assert.equal(result.status, 0, `${what} failed (${result.status}):\n${result.stderr}`);
  return result;
}

/** A guest crate written by hand: Cargo.toml and src/lib.rs, plus any other files. */
function handCrate(name, { deps, lib, files = {} }) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\ncrate-type = ["cdylib", "rlib"]\n\n[dependencies]\n${deps}\n`);
  writeFileSync(join(dir, 'src', 'lib.rs'), lib);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** The custom sections of a wasm module, by name (the `name` section holds function names). */
function customSections(bytes) {
  const sections = {};
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 0) {
      const len = leb();
      const name = Buffer.from(bytes.subarray(at, at + len)).toString('utf8');
      sections[name] = Buffer.from(bytes.subarray(at + len, end));
    }
    at = end;
  }
  return sections;
}

function bundleWasm(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  return { manifest, bytes: readFileSync(join(dir, manifest.wasm)) };
}

let hello;

test('wasmbridge new writes a crate whose native tests pass', () => {
  ok(wasmbridge(['new', 'hello', '--guest-path', GUEST_PATH], { cwd: work }), 'wasmbridge new');
  hello = join(work, 'hello');
  for (const file of ['Cargo.toml', 'src/lib.rs', 'index.html', '.gitignore']) {
    assert.ok(existsSync(join(hello, file)), `wasmbridge new wrote no ${file}`);
  }
  assert.match(readFileSync(join(hello, 'Cargo.toml'), 'utf8'), /^wasm-bindgen = "=0\.2\.130"$/m);
  const tests = ok(sh('cargo', ['test', '--quiet'], { cwd: hello }), 'cargo test in the new crate');
  assert.match(tests.stdout, /test result: ok\. 3 passed/);
  const again = wasmbridge(['new', 'hello'], { cwd: work });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^error: creating the guest crate hello\ncaused by: .*already exists and is not empty/m);
});

test('a release build of the new crate is served and answers in Chromium', async () => {
  const built = ok(wasmbridge(['build', '--release', '--out', 'wasmbridge'], { cwd: hello }), 'wasmbridge build --release');
  const size = built.stderr.match(/([\d.]+) KB raw, ([\d.]+) KB gzip/);
  assert.ok(size, `the build reported no sizes:\n${built.stderr}`);
  console.log(`# README guest (wasmbridge new), release: ${size[1]} KB raw, ${size[2]} KB gzip`);
  const { manifest, bytes } = bundleWasm(join(hello, 'wasmbridge'));
  assert.deepEqual(manifest.functions.map((f) => f.name).sort(), ['mean', 'slowCount']);
  assert.equal(customSections(bytes).name, undefined, 'a plain release build keeps no name section');
  // The manifest also as a module the runtime imports statically: the same
  // data, not listed among the files it describes.
  const inlined = readFileSync(join(hello, 'wasmbridge', 'manifest.js'), 'utf8');
  assert.match(inlined, /^\/\/ .*\n(\/\/ .*\n)*\nexport default \{/);
  assert.deepEqual(JSON.parse(inlined.slice(inlined.indexOf('export default ') + 15).replace(/;\s*$/, '')), manifest);
  // The linked entry holds the manifest, so it is not among the files either.
  assert.ok(!('manifest.js' in manifest.files) && !('wasmbridge.js' in manifest.files) && 'pool-load.js' in manifest.files);
  assert.ok(readFileSync(join(hello, 'wasmbridge', 'wasmbridge.js'), 'utf8').includes(inlined.slice(inlined.indexOf('export default ') + 15).replace(/;\s*$/, '')));

  const server = await startServer(hello);
  try {
    const { page, errors, close } = await openPage(browser, server.url);
    try {
      await page.waitForFunction(() => document.getElementById('error')?.textContent !== '…', null, { timeout: 30_000 });
      assert.equal(await page.locator('#mean').innerText(), '2.5');
      assert.equal(await page.locator('#error').innerText(), 'BAD_ARGUMENT: mean needs at least one value, got none');
      assert.deepEqual(errors, []);
      const fetched = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
      assert.ok(fetched.includes('/wasmbridge/wasmbridge.js') && fetched.includes(`/wasmbridge/${manifest.wasm}`), fetched.join(' '));
      // One linked module: neither manifest form, nor the pool's own modules, is requested.
      for (const name of ['manifest.json', 'manifest.js', 'pool.js', 'protocol.js']) {
        assert.ok(!fetched.includes(`/wasmbridge/${name}`), `${name} was requested: ${fetched.join(' ')}`);
      }
    } finally {
      await close();
    }
  } finally {
    await server.close();
  }
});

test('--profiling keeps Rust function names through wasm-opt; --keep-debug keeps DWARF', () => {
  const out = join(work, 'profiling');
  ok(wasmbridge(['build', '--release', '--profiling', '--out', out], { cwd: hello }), 'wasmbridge build --release --profiling');
  const sections = customSections(bundleWasm(out).bytes);
  assert.ok(sections.name, '--profiling: the optimised module has no name section');
  assert.match(sections.name.toString('latin1'), /wasmbridge_guest::init/, '--profiling: the name section does not name the Rust functions');

  // wasm-bindgen drops the DWARF a debug build carries unless told to keep it.
  const plain = join(work, 'debug-plain');
  const kept = join(work, 'debug-kept');
  ok(wasmbridge(['build', '--out', plain], { cwd: hello }), 'wasmbridge build');
  ok(wasmbridge(['build', '--keep-debug', '--out', kept], { cwd: hello }), 'wasmbridge build --keep-debug');
  assert.equal(customSections(bundleWasm(plain).bytes)['.debug_info'], undefined, 'a plain build keeps no DWARF');
  assert.ok(customSections(bundleWasm(kept).bytes)['.debug_info'], '--keep-debug: no DWARF .debug_info section');
});

test('another wasm-bindgen version is refused before compiling, with the line to write', () => {
  const lone = handCrate('pinned', {
    deps: 'wasm-bindgen = "=0.2.129"',
    lib: 'use wasm_bindgen::prelude::*;\n\n#[wasm_bindgen]\npub fn one() -> u32 {\n    1\n}\n',
  });
  const r = wasmbridge(['build'], { cwd: lone });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: pinned uses wasm-bindgen 0\.2\.129, but this wasmbridge links wasm-bindgen 0\.2\.130/m);
  assert.match(r.stderr, /^ {4}wasm-bindgen = "=0\.2\.130"$/m);
  assert.doesNotMatch(r.stderr, /Compiling|backtrace/i);

  // Next to wasmbridge-guest (which pins 0.2.130) the two pins cannot even resolve.
  const both = handCrate('pinned-both', {
    deps: `wasm-bindgen = "=0.2.129"\nwasmbridge-guest = { path = ${JSON.stringify(GUEST_PATH)} }`,
    lib: 'use wasm_bindgen::prelude::*;\n\n#[wasm_bindgen]\npub fn one() -> u32 {\n    1\n}\n',
  });
  const r2 = wasmbridge(['build'], { cwd: both });
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /^ {4}wasm-bindgen = "=0\.2\.130"$/m);
  assert.doesNotMatch(r2.stderr, /backtrace/i);
});

test("the guest's own rustflags are kept when --simd adds its own", () => {
  // The crate only compiles when both its own --cfg and simd128 reach rustc.
  const lib = [
    '#[cfg(not(guest_own_flag))]',
    'compile_error!("the guest\'s own --cfg guest_own_flag did not reach rustc");',
    '#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]',
    'compile_error!("--simd did not reach rustc");',
    '',
    'use wasm_bindgen::prelude::*;',
    '',
    '#[wasm_bindgen]',
    'pub fn answer() -> u32 {',
    '    42',
    '}',
    '',
  ].join('\n');
  const deps = `wasm-bindgen = "=0.2.130"\nwasmbridge-guest = { path = ${JSON.stringify(GUEST_PATH)} }\n\n[lints.rust]\nunexpected_cfgs = { level = "warn", check-cfg = ['cfg(guest_own_flag)'] }`;
  const config = handCrate('flags-config', { deps, lib, files: { '.cargo/config.toml': '[build]\nrustflags = ["--cfg", "guest_own_flag"]\n' } });
  ok(wasmbridge(['build', '--simd'], { cwd: config }), 'build --simd with build.rustflags in .cargo/config.toml');
  // Both end with the same flags, so the second build reuses the first one's dependencies.
  const env = handCrate('flags-env', { deps, lib });
  ok(wasmbridge(['build', '--simd'], { cwd: env, env: { RUSTFLAGS: '--cfg guest_own_flag' } }), 'build --simd with RUSTFLAGS');
});

test('wasm-opt is installed once into the cache when there is none', () => {
  const cache = mkdtempSync(join(tmpdir(), 'wasmbridge-cache-'));
  try {
    const path = process.env.PATH.split(delimiter).filter((dir) => !existsSync(join(dir, 'wasm-opt'))).join(delimiter);
    const env = { XDG_CACHE_HOME: cache, PATH: path, WASMBRIDGE_WASM_OPT: undefined };
    const out = join(work, 'cached-opt');
    const first = ok(wasmbridge(['build', '--release', '--out', out], { cwd: hello, env }), 'release build with an empty cache');
    const tool = join(cache, 'wasmbridge', 'binaryen-132.0.0', 'node_modules', '.bin', 'wasm-opt');
    assert.match(first.stderr, /installing binaryen 132\.0\.0 from npm into /);
    assert.ok(existsSync(tool), `no wasm-opt at ${tool}`);
    assert.ok(first.stderr.includes(`optimising with ${tool}`), first.stderr);
    const second = ok(wasmbridge(['build', '--release', '--out', out], { cwd: hello, env }), 'second release build');
    assert.doesNotMatch(second.stderr, /installing binaryen/);
    assert.deepEqual(readdirSync(join(cache, 'wasmbridge')), ['binaryen-132.0.0']);

    // A cache that cannot be written: the release build stops and says how to go on.
    const blocked = join(cache, 'not-a-directory');
    writeFileSync(blocked, '');
    const failed = wasmbridge(['build', '--release', '--out', out], { cwd: hello, env: { ...env, XDG_CACHE_HOME: blocked } });
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /^error: no usable wasm-opt for this release build: .*pass --no-opt/m);
    ok(wasmbridge(['build', '--release', '--no-opt', '--out', out], { cwd: hello, env: { ...env, XDG_CACHE_HOME: blocked } }), 'release build with --no-opt');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('--threads builds a shared-memory module next to the plain one, keeps the guest\'s rustflags, and runs rayon on an isolated page', async () => {
  const lib = [
    '#[cfg(not(guest_own_flag))]',
    'compile_error!("the guest\'s own --cfg guest_own_flag did not reach rustc");',
    '',
    'use rayon::prelude::*;',
    'use wasm_bindgen::prelude::*;',
    '// Nothing else names wasmbridge_guest: this links it, with its thread pool.',
    'use wasmbridge_guest as _;',
    '',
    '#[wasm_bindgen(js_name = "sumOfSquares")]',
    'pub fn sum_of_squares(n: u32) -> f64 {',
    '    (0..n).into_par_iter().map(|i| f64::from(i) * f64::from(i)).sum()',
    '}',
    '',
    '#[wasm_bindgen(js_name = "threadCount")]',
    'pub fn thread_count() -> u32 {',
    '    rayon::current_num_threads() as u32',
    '}',
    '',
  ].join('\n');
  const guest = `wasmbridge-guest = { path = ${JSON.stringify(GUEST_PATH)} }`;
  const deps = `wasm-bindgen = "=0.2.130"\n${guest}\nrayon = "1.12"\n\n[lints.rust]\nunexpected_cfgs = { level = "warn", check-cfg = ['cfg(guest_own_flag)'] }`;
  const files = {
    '.cargo/config.toml': '[build]\nrustflags = ["--cfg", "guest_own_flag"]\n',
    'index.html': '<!doctype html><meta charset="utf-8"><title>threads</title><link rel="icon" href="data:,"><body></body>\n',
  };
  const without = handCrate('no-threads-feature', { deps, lib, files });
  const refused = wasmbridge(['build', '--threads'], { cwd: without });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--threads builds no-threads-feature with its `threads` feature, and .*Cargo\.toml declares none; add `threads = \["wasmbridge-guest\/threads"\]` under \[features\]/);

  const dir = handCrate('par-guest', { deps: `${deps}\n\n[features]\nthreads = ["wasmbridge-guest/threads"]`, lib, files });
  const built = ok(wasmbridge(['build', '--release', '--threads', '--out', 'wasmbridge'], { cwd: dir }), 'wasmbridge build --release --threads');
  assert.match(built.stderr, /\(release, threads, nightly toolchain\)/);
  const sizes = built.stderr.match(/par_guest_bg\.\w+\.wasm: ([\d.]+) KB raw, ([\d.]+) KB gzip; threads\/par_guest_bg\.\w+\.wasm: ([\d.]+) KB raw, ([\d.]+) KB gzip/);
  assert.ok(sizes, `the build reported no sizes for both modules:\n${built.stderr}`);
  console.log(`# --threads guest, release: plain ${sizes[1]} KB raw / ${sizes[2]} KB gzip, threaded ${sizes[3]} KB raw / ${sizes[4]} KB gzip`);
  const manifest = JSON.parse(readFileSync(join(dir, 'wasmbridge', 'manifest.json'), 'utf8'));
  assert.match(manifest.threads.wasm, /^threads\/par_guest_bg\.[0-9a-f]{10}\.wasm$/);
  assert.match(manifest.threads.glue, /^threads\/par_guest\.[0-9a-f]{10}\.js$/);
  assert.ok(manifest.files[manifest.threads.wasm].gzip > 0);
  // The threaded module imports a shared memory; the plain one exports its own.
  const threaded = await WebAssembly.compile(readFileSync(join(dir, 'wasmbridge', manifest.threads.wasm)));
  const memory = WebAssembly.Module.imports(threaded).find((i) => i.kind === 'memory');
  assert.ok(memory, 'the threaded module imports its memory');
  const plainModule = await WebAssembly.compile(readFileSync(join(dir, 'wasmbridge', manifest.wasm)));
  assert.equal(WebAssembly.Module.imports(plainModule).find((i) => i.kind === 'memory'), undefined);

  const server = await startServer(dir);
  try {
    const { page, errors, close } = await openPage(browser, server.url);
    try {
      const r = await page.evaluate(async () => {
        const { createPool } = await import('/wasmbridge/wasmbridge.js');
        const pool = await createPool({ size: 1, threads: 2 });
        const out = { module: pool.stats().module, sum: await pool.call('sumOfSquares', 1000), threads: await pool.call('threadCount') };
        pool.close();
        return out;
      });
      assert.equal(r.module.kind, 'threaded');
      assert.equal(r.sum, 332_833_500);
      assert.equal(r.threads, 2);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  } finally {
    await server.close();
  }
});

test('usage errors exit with 2, failures with 1 and no backtrace', () => {
  const usage = wasmbridge(['build', '--no-such-flag'], { cwd: work });
  assert.equal(usage.status, 2, usage.stderr);
  const nothing = wasmbridge(['build'], { cwd: work });
  assert.equal(nothing.status, 1, nothing.stderr);
  assert.match(nothing.stderr, /^error: cargo metadata failed in /m);
  assert.doesNotMatch(nothing.stderr, /backtrace/i);
  const several = wasmbridge(['build'], { cwd: REPO, env: { CARGO_TARGET_DIR: undefined } });
  assert.equal(several.status, 1, several.stderr);
  assert.match(several.stderr, /^error: the workspace at .* has several guest crates \(.*demo-guest.*test-guest.*\): choose one with -p$/m);
});
