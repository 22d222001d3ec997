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

  const server = await startServer(hello);
  try {
    const { page, errors, close } = await openPage(browser, server.url);
    try {
      await page.waitForFunction(() => document.getElementById('error')?.textContent !== '…', null, { timeout: 30_000 });
      assert.equal(await page.locator('#mean').innerText(), '2.5');
      assert.equal(await page.locator('#error').innerText(), 'BAD_ARGUMENT: mean needs at least one value, got none');
      assert.deepEqual(errors, []);
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
