// `wasmbridge deploy nginx` against Debian's real nginx: the demo page and the
// demo guest's release bundle served by nginx with the generated server block,
// loaded in Chromium (cross-origin isolated, a pool answering), and the
// headers, types, caching and compression checked with node's fetch.
//
// nginx runs as the current user on a free 127.0.0.1 port, with every file it
// writes (pid, logs, temp paths) under target/nginx-test/, and is killed in `after`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN, REPO, TARGET, bundle, makeSite, launchBrowser, openPage } from './harness.mjs';

const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

const SECURITY = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};
const IMMUTABLE = 'public, max-age=31536000, immutable';
const HASHED = /\.[0-9a-f]{8,}\.(wasm|js)$/;

let site;
let nginx;
let browser;

/** A port nobody listens on right now: bind port 0, read it, close. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Writes the server block for `root` with the CLI and an nginx.conf around it in
 * `dir`, starts nginx in the foreground and resolves once /healthz answers.
 * Retries on another port if the free port was taken in between.
 */
async function startNginx(root, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const errorLog = join(dir, 'error.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    execFileSync(BIN, ['deploy', 'nginx', root, '--out', join(dir, 'site.conf'), '--listen', `127.0.0.1:${port}`, '--precompress'], { stdio: 'pipe' });
    const asRoot = process.getuid?.() === 0;
    writeFileSync(join(dir, 'nginx.conf'), [
      'daemon off;',
      'master_process off;',
      // Only a root master may switch users; as root, stay root so the files under target/ are readable.
      ...(asRoot ? ['user root;'] : []),
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${errorLog} warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, `${t}_temp`)};`),
      '  sendfile on;',
      `  include ${join(dir, 'site.conf')};`,
      '}',
      '',
    ].join('\n'));
    const child = spawn(NGINX, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', errorLog], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    let exited = false;
    child.on('exit', () => { exited = true; });
    // Never leave nginx behind, even if the test process ends abruptly.
    const reap = () => child.kill('SIGKILL');
    process.on('exit', reap);
    const url = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}healthz`);
        if (res.status === 200) {
          return {
            url,
            port,
            dir,
            close: () => new Promise((resolve) => {
              process.off('exit', reap);
              if (exited) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
              child.once('exit', () => { clearTimeout(timer); resolve(); });
              child.kill('SIGTERM');
            }),
          };
        }
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    process.off('exit', reap);
    const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
    if (attempt < 3 && /Address already in use/.test(log + output)) continue;
    throw new Error(`nginx did not answer /healthz within 10 s: ${output}\n${log}`);
  }
}

before(async () => {
  // These tests fail, never skip, without nginx: `cargo xtask test` installs it.
  assert.ok(existsSync(NGINX), `expected nginx at ${NGINX}, found nothing: apt-get install nginx, or cargo xtask setup as root`);
  const demo = join(REPO, 'web', 'demo');
  const files = Object.fromEntries(readdirSync(demo).map((name) => [name, readFileSync(join(demo, name))]));
  site = makeSite('nginx', { wasmbridge: bundle('demo-guest') }, {
    ...files,
    'listing/secret-name.txt': 'a directory without index.html\n',
    '.env': 'SECRET=hidden-file-content\n',
  });
  nginx = await startNginx(site, join(TARGET, 'nginx-test'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await nginx?.close();
});

function assertSecurityHeaders(res, what) {
  for (const [name, value] of Object.entries(SECURITY)) {
    assert.equal(res.headers.get(name), value, `${what}: ${name}`);
  }
}

const get = (path, headers = {}) => fetch(new URL(path, nginx.url), { headers: { 'accept-encoding': 'identity', ...headers }, redirect: 'manual' });

/** A GET through node:http, body undecoded. */
function rawGet(path, headers) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, nginx.url), { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the demo page is cross-origin isolated through nginx and a pool answers', { timeout: 90_000 }, async () => {
  const { page, errors, close } = await openPage(browser, `${nginx.url}?workers=2`);
  try {
    await page.waitForSelector('#load[data-state="ready"]', { timeout: 60_000 });
    const r = await page.evaluate(async () => {
      const { createPool } = await import('/wasmbridge/wasmbridge.js');
      const pool = await createPool({ size: 2 });
      const out = { isolated: crossOriginIsolated, poolIsolated: pool.isolated, divide: await pool.call('divide', 7, 2) };
      pool.close();
      const wasm = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm'));
      out.wasmFetched = wasm.length > 0;
      out.wasmCompressed = wasm.every((e) => e.encodedBodySize > 0 && e.encodedBodySize < e.decodedBodySize);
      return out;
    });
    assert.deepEqual(r, { isolated: true, poolIsolated: true, divide: 3.5, wasmFetched: true, wasmCompressed: true });
    assert.deepEqual(errors, [], 'the page logged errors');
  } finally {
    await close();
  }
});

test('.wasm is application/wasm and .js text/javascript, with the headers', async () => {
  const manifest = JSON.parse(readFileSync(join(site, 'wasmbridge', 'manifest.json'), 'utf8'));
  const wasm = await get(`/wasmbridge/${manifest.wasm}`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.equal(Number(wasm.headers.get('content-length')), statSync(join(site, 'wasmbridge', manifest.wasm)).size);
  assertSecurityHeaders(wasm, '200 .wasm');
  const js = await get('/wasmbridge/wasmbridge.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assertSecurityHeaders(js, '200 .js');
  const html = await get('/');
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type'), /^text\/html/);
  assert.equal(html.headers.get('cache-control'), 'no-cache');
  assert.equal(html.headers.get('server'), 'nginx', 'server_tokens off: no version');
  assertSecurityHeaders(html, '200 html');
});

test('404, 403, 414 and 405 responses carry the headers too', async () => {
  const missing = await get('/no-such-file.js');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('cache-control'), 'no-cache');
  assertSecurityHeaders(missing, '404');
  const missingHashed = await get('/wasmbridge/gone.0123456789.wasm');
  assert.equal(missingHashed.status, 404);
  assert.equal(missingHashed.headers.get('cache-control'), 'no-cache', 'a missing hashed name is not cached for a year');
  assertSecurityHeaders(missingHashed, '404 hashed');
  const listing = await get('/listing/');
  assert.equal(listing.status, 403, 'no directory listing');
  assert.ok(!(await listing.text()).includes('secret-name'), 'the listing does not leak names');
  assertSecurityHeaders(listing, '403');
  const hidden = await get('/.env');
  assert.equal(hidden.status, 404);
  assert.ok(!(await hidden.text()).includes('hidden-file-content'));
  assertSecurityHeaders(hidden, 'hidden file');
  const post = await fetch(new URL('/index.html', nginx.url), { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assertSecurityHeaders(post, '405');
  const long = await get(`/${'a'.repeat(16 * 1024)}`);
  assert.ok([400, 414].includes(long.status), `long URI: ${long.status}`);
  assertSecurityHeaders(long, `${long.status} long URI`);
});

test('304 responses carry the headers', async () => {
  for (const path of ['/', '/wasmbridge/manifest.json']) {
    const first = await get(path);
    const etag = first.headers.get('etag');
    assert.ok(etag, `${path} has an ETag`);
    const again = await get(path, { 'if-none-match': etag });
    assert.equal(again.status, 304, path);
    assert.equal(again.headers.get('cache-control'), 'no-cache');
    assertSecurityHeaders(again, `304 ${path}`);
  }
});

test('/healthz answers 200 ok, not cached', async () => {
  const res = await get('/healthz');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok\n');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assertSecurityHeaders(res, '/healthz');
});

test('content-hashed names are cached for a year, others revalidated', async () => {
  const hashed = readdirSync(join(site, 'wasmbridge')).filter((n) => HASHED.test(n));
  assert.ok(hashed.length > 0, 'expected content-hashed names in the demo-guest bundle (a --release build), found none');
  for (const name of hashed) {
    const res = await get(`/wasmbridge/${name}`);
    assert.equal(res.status, 200, name);
    assert.equal(res.headers.get('cache-control'), IMMUTABLE, name);
    assertSecurityHeaders(res, name);
    const again = await get(`/wasmbridge/${name}`, { 'if-none-match': res.headers.get('etag') });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('cache-control'), IMMUTABLE);
    assertSecurityHeaders(again, `304 ${name}`);
  }
  for (const name of ['wasmbridge.js', 'worker.js', 'manifest.json']) {
    assert.equal((await get(`/wasmbridge/${name}`)).headers.get('cache-control'), 'no-cache', name);
  }
});

test('a precompressed .gz is sent for Accept-Encoding: gzip', async () => {
  for (const name of ['pool.js', JSON.parse(readFileSync(join(site, 'wasmbridge', 'manifest.json'), 'utf8')).wasm]) {
    const file = join(site, 'wasmbridge', name);
    assert.ok(existsSync(`${file}.gz`), `--precompress wrote ${name}.gz`);
    const res = await rawGet(`/wasmbridge/${name}`, { 'accept-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip', name);
    assert.equal(Number(res.headers['content-length']), statSync(`${file}.gz`).size, `${name}: the file on disk, not compressed on the fly`);
    assert.match(res.headers.vary ?? '', /accept-encoding/i);
    assert.deepEqual(gunzipSync(res.body), readFileSync(file));
    const plain = await rawGet(`/wasmbridge/${name}`, { 'accept-encoding': 'identity' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, readFileSync(file));
  }
});
