// `wasmbridge dev` the way a user runs it: the built CLI in a guest crate made in
// a temp directory outside the repository, its page open in Chromium while the
// crate's sources change underneath. A good rebuild reloads the page by itself;
// a syntax error shows the compiler's error over the page while the last good
// bundle keeps answering; the fix clears it. The guest's build shares a target
// directory under the repository's target/ so later runs compile it warm.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BIN, JS_DIR, REPO, TARGET, launchBrowser, openPage, screenshotDir } from './harness.mjs';

/** A cold shared target directory compiles wasm-bindgen and its dependencies first. */
const FIRST_BUILD_MS = 10 * 60_000;
const REBUILD_MS = 3 * 60_000;

const crateDir = mkdtempSync(join(tmpdir(), 'wasmbridge-dev-'));
const guest = (body) => `use wasm_bindgen::prelude::*;
use wasmbridge_guest::Result;

/// The number the page shows.
#[wasm_bindgen]
pub fn answer() -> Result<u32> {
    ${body}
`;
const writeGuest = (body) => writeFileSync(join(crateDir, 'src', 'lib.rs'), guest(body));

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>dev guest</title><link rel="icon" href="data:,"></head>
<body>
<p id="out">loading</p>
<script type="module">
  import { createPool } from './wasmbridge/wasmbridge.js';
  window.pool = await createPool({ size: 1 });
  document.getElementById('out').textContent = \`answer: \${await window.pool.call('answer')}\`;
</script>
</body>
</html>
`;

let dev;
let browser;
let page;
let errors;
let closePage;
let stderr = '';

/** Starts `wasmbridge dev --no-open ARGS` in the crate and resolves with the URL it printed. */
function startDev(args = ['--port', '0']) {
  // The binary runs in the crate directory: a relative WASMBRIDGE_BIN must not be read from there.
  const child = spawn(resolve(JS_DIR, BIN), ['dev', '--no-open', ...args], {
    cwd: crateDir,
    env: { ...process.env, CARGO_TARGET_DIR: join(TARGET, 'dev-test-guests') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`wasmbridge dev printed no URL; stderr: ${stderr}`)); }, FIRST_BUILD_MS);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`wasmbridge dev exited with ${code}: ${stderr}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ url: m[1], process: child, close: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }) });
      }
    });
  });
}

before(async () => {
  mkdirSync(join(crateDir, 'src'));
  writeFileSync(join(crateDir, 'Cargo.toml'), `[package]
name = "dev-guest"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
wasm-bindgen = "=0.2.130"
wasmbridge-guest = { path = ${JSON.stringify(join(REPO, 'crates', 'wasmbridge-guest'))} }
`);
  // The repository's lock file pins the same versions the workspace builds with,
  // so the shared target directory's artifacts are reused and nothing is resolved anew.
  copyFileSync(join(REPO, 'Cargo.lock'), join(crateDir, 'Cargo.lock'));
  writeGuest('Ok(41)\n}');
  writeFileSync(join(crateDir, 'index.html'), INDEX_HTML);
  dev = await startDev();
  browser = await launchBrowser();
  ({ page, errors, close: closePage } = await openPage(browser, dev.url));
});

after(async () => {
  await closePage?.();
  await browser?.close();
  await dev?.close();
  rmSync(crateDir, { recursive: true, force: true });
});

const OVERLAY = '#wasmbridge-dev-overlay';

async function waitForText(selector, expected, timeout = REBUILD_MS) {
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent.includes(want),
      [selector, expected],
      { timeout, polling: 100 },
    );
  } catch {
    const shown = await page.locator(selector).textContent({ timeout: 1000 }).catch(() => '(missing)');
    assert.fail(`${selector} never showed ${JSON.stringify(expected)}; it shows ${JSON.stringify(shown)}; dev stderr:\n${stderr.slice(-4000)}`);
  }
}

/** Leaves a mark in the page's JS state: a reload removes it, nothing else does. */
const mark = () => page.evaluate(() => { window.devTestMark = true; });
const marked = () => page.evaluate(() => window.devTestMark === true);

test('the crate page is served cross-origin isolated with the bundle at ./wasmbridge/', async () => {
  await waitForText('#out', 'answer: 41');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const res = await fetch(dev.url);
  assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(await res.text(), /<script type="module" src="\/_wasmbridge\/client\.js\?generation=1&amp;instance=\w+"><\/script>\n<\/head>/);
  const wasm = await fetch(new URL('wasmbridge/manifest.json', dev.url));
  assert.equal(wasm.status, 200);
  assert.equal((await wasm.json()).name, 'dev-guest');
  assert.deepEqual(errors, []);
});

test('a change to lib.rs rebuilds and the open page reloads by itself', async () => {
  await mark();
  writeGuest('Ok(42)\n}');
  await waitForText('#out', 'answer: 42');
  assert.equal(await marked(), false, 'the page should have reloaded');
  assert.deepEqual(errors, []);
});

/** How many builds the dev server has reported ready. */
const builds = () => stderr.split('wasmbridge: dev build of dev-guest ready').length - 1;

test('editing index.html reloads the page without a rebuild', async () => {
  await mark();
  const before = builds();
  writeFileSync(join(crateDir, 'index.html'), INDEX_HTML.replace('<p id="out">', '<h1>edited</h1>\n<p id="out">'));
  await waitForText('h1', 'edited');
  await waitForText('#out', 'answer: 42');
  assert.equal(await marked(), false);
  assert.equal(builds(), before, 'a static file change must not rebuild');
  assert.deepEqual(errors, []);
});

test('files in a directory made after the start are watched too', async () => {
  await mark();
  mkdirSync(join(crateDir, 'assets'));
  // Making the directory is a change of the crate too: the page reloads for it, and
  // the server watches the directory before it tells the page to reload.
  await page.waitForFunction(() => window.devTestMark !== true, null, { timeout: 30_000 });
  await waitForText('#out', 'answer: 42');
  await mark();
  writeFileSync(join(crateDir, 'assets', 'style.css'), 'body { margin: 2rem; }\n');
  try {
    await page.waitForFunction(() => window.devTestMark !== true, null, { timeout: 30_000 });
  } catch {
    assert.fail(`writing assets/style.css did not reload the page; dev stderr:\n${stderr.slice(-4000)}`);
  }
  await waitForText('#out', 'answer: 42');
  assert.deepEqual(errors, []);
});

test('a syntax error shows in the page while the last good bundle keeps answering', async () => {
  await mark();
  writeGuest('Ok(43)\n');
  await waitForText(OVERLAY, 'unclosed delimiter');
  const overlay = await page.locator(OVERLAY).textContent();
  assert.match(overlay, /build failed/);
  assert.match(overlay, /src\/lib\.rs/);
  await page.screenshot({ path: join(screenshotDir(), 'dev-build-error.png') });
  assert.equal(await marked(), true, 'a failed build must not reload the page');
  assert.equal(await page.evaluate(() => window.pool.call('answer')), 42);
  assert.match(await page.locator('#out').textContent(), /answer: 42/);
  // A page opened now gets the last good bundle and the error too.
  const fresh = await openPage(browser, dev.url);
  try {
    await fresh.page.waitForFunction(() => document.querySelector('#out')?.textContent === 'answer: 42', null, { timeout: 30_000 });
    await fresh.page.waitForSelector(OVERLAY, { timeout: 30_000 });
    assert.deepEqual(fresh.errors, []);
  } finally {
    await fresh.close();
  }
  // The terminal has the compiler's error as well.
  assert.match(stderr, /unclosed delimiter/);
  assert.match(stderr, /still serving the last good bundle/);
});

test('fixing the error clears it and the page shows the new result', async () => {
  writeGuest('Ok(43)\n}');
  await waitForText('#out', 'answer: 43');
  assert.equal(await page.locator(OVERLAY).count(), 0);
  assert.equal(await marked(), false);
  assert.deepEqual(errors, []);
});

test('without an index.html the page lists the guest functions and calls them', async () => {
  await mark();
  rmSync(join(crateDir, 'index.html'));
  const form = page.locator('form[data-function="answer"]');
  try {
    await form.waitFor({ timeout: 60_000 });
  } catch {
    assert.fail(`the generated page did not list answer(); dev stderr:\n${stderr.slice(-4000)}`);
  }
  assert.equal(await marked(), false, 'removing index.html should reload the page');
  assert.match(await form.locator('h2').textContent(), /^answer\(\): number$/);
  assert.match(await form.locator('.doc').textContent(), /The number the page shows/);
  await form.locator('button').click();
  await page.waitForFunction(() => document.querySelector('form[data-function="answer"] output')?.textContent === '43', null, { timeout: 30_000 });
  await page.screenshot({ path: join(screenshotDir(), 'dev-functions.png') });
  assert.deepEqual(errors, []);
  // A malformed request is refused, not answered with the generated page.
  const status = await rawStatus(dev.url, 'GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(status, 400);
});

/** Sends `head` as it is and resolves with the status code of the answer. */
function rawStatus(url, head) {
  const { hostname, port } = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let answer = '';
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`no answer to a raw request; got ${JSON.stringify(answer)}`)); });
    socket.on('data', (d) => {
      answer += d;
      const m = answer.match(/^HTTP\/1\.1 (\d{3})/);
      if (m) { socket.destroy(); resolvePromise(Number(m[1])); }
    });
    socket.on('error', reject);
  });
}

test('without --port it takes 8080, or the next free port when that is taken', async () => {
  const first = await startDev([]);
  let second;
  try {
    const a = Number(new URL(first.url).port);
    assert.ok(a >= 8080 && a < 8100, `port ${a} is not in 8080..8099`);
    second = await startDev([]);
    const b = Number(new URL(second.url).port);
    assert.ok(b > a && b < 8100, `the second server took port ${b}, expected one after ${a}`);
    const res = await fetch(new URL('wasmbridge/manifest.json', second.url));
    assert.equal(res.status, 200);
  } finally {
    await second?.close();
    await first.close();
  }
});

test('stopping the server during a build stops the build too', async () => {
  const other = await startDev();
  let build = 0;
  try {
    writeGuest('Ok(44)\n}');
    const deadline = Date.now() + 30_000;
    while (build === 0 && Date.now() < deadline) {
      try {
        build = Number(execFileSync('pgrep', ['-P', String(other.process.pid)]).toString().trim().split('\n')[0]);
      } catch {
        // pgrep exits 1 while the server has no child yet.
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(build > 0, `no build started after the change; dev stderr:\n${stderr.slice(-4000)}`);
  } finally {
    await other.close();
  }
  assert.throws(() => process.kill(build, 0), { code: 'ESRCH' }, `the build ${build} outlived the server`);
});
