// examples/vite, the way its README builds it: the guest built by the real
// CLI into public/wasm/, the app type-checked by tsc and built by the real
// Vite from npm, then dist/ served by `vite preview` and by `wasmbridge serve`
// and loaded in Chromium. The runtime comes from the npm package (a `file:`
// dependency on crates/wasmbridge/runtime), so this is the bundled path.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, BIN, startServer, launchBrowser, execOk } from './harness.mjs';

const EXAMPLE = join(REPO, 'examples', 'vite');
const DIST = join(EXAMPLE, 'dist');
const bin = (name) => join(EXAMPLE, 'node_modules', '.bin', name);

let browser;
/** Names Vite gave the files it emitted into dist/assets/. */
let emitted;

before(async () => {
  if (!existsSync(bin('vite')) || !existsSync(bin('tsc'))) {
    await execOk('npm', ['ci', '--no-audit', '--no-fund'], { cwd: EXAMPLE });
  }
  await execOk(BIN, ['build', '-p', 'vite-example-guest', '--out', join(EXAMPLE, 'public', 'wasm')]);
  rmSync(DIST, { recursive: true, force: true });
  await execOk(bin('vite'), ['build'], { cwd: EXAMPLE });
  const assets = readdirSync(join(DIST, 'assets'));
  const one = (re) => {
    const found = assets.filter((f) => re.test(f));
    assert.equal(found.length, 1, `expected one file like ${re} in dist/assets, got ${JSON.stringify(assets)}`);
    return found[0];
  };
  emitted = { worker: one(/^worker-[\w-]+\.js$/), worklet: one(/^audio-worklet-[\w-]+\.js$/), entry: one(/^index-[\w-]+\.js$/) };
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('the example type-checks with tsc --strict against the guest\'s declarations', async () => {
  const r = await execOk(bin('tsc'), ['--noEmit', '-p', '.'], { cwd: EXAMPLE });
  assert.equal(r.stdout.trim(), '');
});

test('vite build emits worker.js and the worklet under hashed names, and the worklet imports nothing', () => {
  const entry = readFileSync(join(DIST, 'assets', emitted.entry), 'utf8');
  // The worker's URL sits in the chunk of supervisor.js (shared with the lane's chunk), which the entry imports.
  const starter = readdirSync(join(DIST, 'assets')).find((f) => f.endsWith('.js') && f !== emitted.worker && readFileSync(join(DIST, 'assets', f), 'utf8').includes(`/assets/${emitted.worker}`));
  assert.ok(starter === emitted.entry || entry.includes(`./${starter}`), `the app creates its workers from the emitted worker file, in its entry or a chunk the entry imports (${starter})`);
  const worklet = readFileSync(join(DIST, 'assets', emitted.worklet), 'utf8');
  assert.doesNotMatch(worklet, /^\s*import\s/m, 'a worklet copied as an asset cannot import');
  assert.match(worklet, /registerProcessor\('wasmbridge-ring-player'/);
  assert.ok(existsSync(join(DIST, 'wasm', 'manifest.json')), 'public/wasm/ is copied into dist/wasm/');
});

/** Starts `vite preview` of dist/ (or, with 'dev', the dev server) on a free port. */
function startVite(command) {
  const child = spawn(bin('vite'), [command, '--host', '127.0.0.1', '--port', '0', '--strictPort'], {
    cwd: EXAMPLE, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`vite ${command} printed no URL within 20 s: ${out}`)); }, 20_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`vite ${command} exited with ${code}: ${out}`)); });
    const read = (d) => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolvePromise({ url: m[1], close: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }) });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
  });
}

/**
 * Loads the built app at `url` and returns what it showed, every response
 * that failed, the workers it started and whether the emitted worklet loads.
 */
async function loadApp(url, { worklet: workletPath = `/assets/${emitted.worklet}` } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const failures = [];
  const errors = [];
  const workers = [];
  const requested = [];
  context.on('request', (r) => requested.push(new URL(r.url()).pathname));
  context.on('response', (r) => { if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`); });
  context.on('requestfailed', (r) => failures.push(`${r.failure()?.errorText} ${r.url()}`));
  page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'failed', null, { timeout: 30_000 });
    const state = await page.evaluate(() => document.body.dataset.state);
    const text = await page.textContent('#result');
    assert.equal(state, 'done', `the app failed: ${text}`);
    const isolated = await page.evaluate(() => crossOriginIsolated);
    const worklet = await page.evaluate(async (path) => {
      const context = new OfflineAudioContext(2, 128, 48_000);
      await context.audioWorklet.addModule(path);
      return new AudioWorkletNode(context, 'wasmbridge-ring-player', { outputChannelCount: [2] }) instanceof AudioWorkletNode;
    }, workletPath);
    return { shown: JSON.parse(text), isolated, failures, errors, workers, requested, worklet };
  } finally {
    await context.close();
  }
}

function assertApp(r) {
  assert.deepEqual(r.failures, [], 'no request failed or answered 4xx/5xx');
  assert.deepEqual(r.errors, []);
  assert.equal(r.isolated, true);
  assert.equal(r.shown.isolated, true);
  assert.equal(r.shown.mean, 5);
  assert.equal(r.shown.deviation, 2);
  assert.equal(r.shown.greeting, 'hello, Vite, from Rust');
  assert.equal(r.shown.emptyMean, 'BAD_ARGUMENT: mean needs at least one value, got none');
  assert.ok(r.workers.length >= 2, `the pool started its workers, got ${JSON.stringify(r.workers)}`);
  for (const w of r.workers) assert.equal(w, `/assets/${emitted.worker}`, 'every worker runs the file Vite emitted');
  assert.ok(!r.requested.includes('/wasm/worker.js'), 'the bundle\'s own worker.js is not used');
  assert.ok(r.requested.includes('/wasm/vite_example_guest.js') && r.requested.includes('/wasm/manifest.json'), 'the guest comes from the bundle URL');
  assert.equal(r.worklet, true, 'the emitted worklet registers wasmbridge-ring-player');
}

test('dist/ under vite preview: isolated, the guest answers, workers run the emitted worker file, nothing 404s', async () => {
  const preview = await startVite('preview');
  try {
    assertApp(await loadApp(preview.url));
  } finally {
    await preview.close();
  }
});

test('dist/ under wasmbridge serve: the same', async () => {
  const server = await startServer(DIST);
  try {
    assertApp(await loadApp(server.url));
  } finally {
    await server.close();
  }
});

test('the dev server (npm run dev): isolated, the guest answers, workers run the package\'s worker.js', async () => {
  const dev = await startVite('dev');
  try {
    const r = await loadApp(dev.url, { worklet: '/@fs' + join(REPO, 'crates', 'wasmbridge', 'runtime', 'audio-worklet.js') });
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.errors, []);
    assert.equal(r.isolated, true);
    assert.deepEqual([r.shown.mean, r.shown.deviation, r.shown.greeting], [5, 2, 'hello, Vite, from Rust']);
    assert.ok(r.workers.length >= 2);
    for (const w of r.workers) assert.match(w, /\/crates\/wasmbridge\/runtime\/worker\.js$/);
    assert.equal(r.worklet, true);
  } finally {
    await dev.close();
  }
});
