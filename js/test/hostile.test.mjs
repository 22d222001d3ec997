// Hostile input against the real `wasmbridge serve` binary and the runtime in
// real Chromium. HTTP side: raw TCP requests (node `net`), so nothing between
// the test and the server normalises the path or the request: traversal in
// many encodings, overlong paths, bad methods, huge headers, slow clients.
// Page side: names outside the manifest, JSON with `__proto__` keys, and
// arguments over `maxArgBytes`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { bundle, makeSite, startServer, launchBrowser, runInPage } from './harness.mjs';

const SECRET = 'HOSTILE-TEST-SECRET-7f3a9c';
const SECRET_NAME = 'hostile-secret.txt';
const PUBLIC = 'public file served from the root\n';

let server;
let browser;
let port;

before(async () => {
  const site = makeSite('hostile', { guest: bundle('test-guest') }, { 'public.txt': PUBLIC });
  // The secret lies next to the root, where `/../hostile-secret.txt` would find it,
  // and in a directory next to that; symlinks inside the root point at both.
  const outside = dirname(site);
  writeFileSync(join(outside, SECRET_NAME), `${SECRET}\n`);
  const deeper = join(outside, 'hostile-elsewhere');
  rmSync(deeper, { recursive: true, force: true });
  mkdirSync(deeper, { recursive: true });
  writeFileSync(join(deeper, SECRET_NAME), `${SECRET}\n`);
  symlinkSync(join(outside, SECRET_NAME), join(site, 'escape.txt'));
  symlinkSync(outside, join(site, 'up'));
  server = await startServer(site);
  port = Number(new URL(server.url).port);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * Sends `request` (a string or bytes) on a fresh connection and collects what
 * comes back until the server closes it or `timeout` ms pass.
 * @returns {Promise<{ status: number | null, text: string, ms: number, closedByServer: boolean, error?: string }>}
 */
function raw(request, { timeout = 5000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let closedByServer = false;
    let error;
    const timer = setTimeout(() => socket.destroy(), timeout);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => { closedByServer = true; });
    socket.on('error', (e) => { error = e.code ?? e.message; });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = text.match(/^HTTP\/1\.[01] (\d{3})/);
      resolve({ status: m ? Number(m[1]) : null, text, ms: Date.now() - started, closedByServer, error });
    });
    socket.write(request);
  });
}

const get = (target, extra = '') => raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`);

async function assertAlive(what) {
  const r = await get('/public.txt');
  assert.equal(r.status, 200, `the server answers after ${what}: ${r.text.slice(0, 200)}`);
  assert.ok(r.text.endsWith(PUBLIC));
}

test('path traversal in any encoding never reaches outside the root', async () => {
  const S = SECRET_NAME;
  const targets = [
    `/../${S}`,
    `/../../test-sites/${S}`,
    `/../hostile-elsewhere/${S}`,
    `/%2e%2e/${S}`,
    `/%2E%2E/${S}`,
    `/.%2e/${S}`,
    `/%2e./${S}`,
    `/%252e%252e/${S}`,
    `/%25252e%25252e/${S}`,
    `/..%2f${S}`,
    `/..%2F${S}`,
    `/%2e%2e%2f${S}`,
    `/%2e%2e%5c${S}`,
    `/..%5c${S}`,
    `/..\\${S}`,
    `/guest/..%5c..%5c${S}`,
    '//etc/passwd',
    `//${S}`,
    `/./../${S}`,
    `/guest/../../${S}`,
    `/guest/%2e%2e/%2e%2e/${S}`,
    `/%c0%ae%c0%ae/${S}`,
    `/%c0%ae%c0%ae%c0%af${S}`,
    `/%e0%80%ae%e0%80%ae/${S}`,
    `/%c0%2e%c0%2e/${S}`,
    `/..%c0%af${S}`,
    `/..%u2215${S}`,
    `/${S}%00.html`,
    `/public.txt%00/../../${S}`,
    '/../../../../../../../../etc/passwd',
    `/${'%2e%2e/'.repeat(12)}etc/passwd`,
    `/${'..%2f'.repeat(12)}etc/passwd`,
    `http://127.0.0.1/../${S}`,
    '/escape.txt',
    `/up/${S}`,
    `/up/hostile-elsewhere/${S}`,
  ];
  for (const target of targets) {
    const r = await get(target);
    assert.ok(r.status !== null, `${target}: no HTTP response (${r.error ?? 'closed'})`);
    assert.ok(r.status >= 400, `${target} answered ${r.status}`);
    assert.ok(!r.text.includes(SECRET), `${target} leaked the secret`);
    assert.ok(!/root:.*:0:0:/.test(r.text), `${target} leaked /etc/passwd`);
  }
  // The same requests with HEAD, and the file itself is there to be found.
  for (const target of targets.slice(0, 8)) {
    const r = await raw(`HEAD ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(r.status >= 400, `HEAD ${target} answered ${r.status}`);
  }
  await assertAlive('traversal attempts');
});

test('an 8 KiB path gets 414 (or 400) at once', async () => {
  for (const path of [`/${'a'.repeat(8192)}`, `/${'%2e'.repeat(3000)}`, `/guest/${'x/'.repeat(4096)}`]) {
    const r = await get(path);
    assert.ok([400, 414].includes(r.status), `${path.length}-byte path: ${r.status}`);
    // At once: well before the 10 s header timeout that would end a stuck read.
    assert.ok(r.ms < 5000, `answered in ${r.ms} ms`);
  }
  const huge = await get(`/${'a'.repeat(70 * 1024)}`);
  assert.ok([400, 414, 431].includes(huge.status), `70 KiB path: ${huge.status}`);
  await assertAlive('long paths');
});

test('methods other than GET and HEAD get 405, garbage gets 400, and nothing crashes', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'BREW', 'PROPFIND']) {
    const r = await raw(`${method} /public.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    assert.equal(r.status, 405, `${method}: ${r.text.slice(0, 100)}`);
    assert.match(r.text, /\r\nallow: GET, HEAD\r\n/i, method);
    assert.ok(!r.text.includes(PUBLIC), `${method} must not return the file`);
  }
  const connect = await raw('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
  assert.ok([400, 405].includes(connect.status), `CONNECT: ${connect.status}`);
  const garbage = [
    'G{E}T / HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET\t/\tHTTP/1.1\r\n\r\n',
    '\u0000\u0001\u0002\u0003 / HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'GET / HTTP/7.0\r\nHost: x\r\n\r\n',
    'GET /\r\n\r\n',
    `${'A'.repeat(100)} / HTTP/1.1\r\n\r\n`,
  ];
  for (const request of garbage) {
    const r = await raw(request, { timeout: 3000 });
    assert.ok(r.status === null || (r.status >= 400 && r.status < 600), `${JSON.stringify(request.slice(0, 40))}: ${r.status}`);
    assert.ok(!r.text.includes(PUBLIC));
  }
  // A GET whose (unread) chunked body is malformed is answered or refused, never a crash.
  const badBody = await raw('GET /public.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', { timeout: 3000 });
  assert.ok(badBody.status === null || badBody.status === 200 || badBody.status >= 400, `bad chunked body: ${badBody.status}`);
  await assertAlive('bad methods and garbage');
});

test('a 64 KiB header is rejected with 431 or 400, and the server answers afterwards', async () => {
  const big = await get('/public.txt', `X-Big: ${'a'.repeat(64 * 1024)}\r\n`);
  const many = await get('/public.txt', Array.from({ length: 200 }, (_, i) => `X-H${i}: v\r\n`).join(''));
  const huge = await get('/public.txt', `X-Huge: ${'a'.repeat(1024 * 1024)}\r\n`);
  await assertAlive('huge headers');
  assert.ok([400, 431].includes(many.status), `200 headers: ${many.status}`);
  assert.ok([400, 431].includes(huge.status), `1 MiB header: ${huge.status}`);
  assert.ok([400, 431].includes(big.status), `64 KiB header: ${big.status}`);
});

test('slow clients do not hold up others and are dropped after the header timeout', { timeout: 30_000 }, async () => {
  const request = 'GET /public.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: one byte a second\r\n\r\n';
  const started = Date.now();
  const slow = Array.from({ length: 20 }, () => {
    const socket = net.connect(port, '127.0.0.1');
    let sent = 0;
    let received = '';
    const timer = setInterval(() => { if (!socket.destroyed && sent < request.length) socket.write(request[sent++]); }, 1000);
    socket.on('data', (d) => { received += d; });
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - started, received, sent }); }));
    return { socket, closed };
  });
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < 5; i++) {
    const r = await get('/public.txt');
    assert.equal(r.status, 200, `request ${i} while 20 slow clients hold connections`);
    // Not queued behind the slow clients, which hold their connections for 10 s.
    assert.ok(r.ms < 5000, `request ${i} took ${r.ms} ms`);
  }
  const viaFetch = await fetch(new URL('/public.txt', server.url));
  assert.equal(await viaFetch.text(), PUBLIC);
  // The server's header read timeout is 10 s: every slow client is gone well before 20 s.
  const watchdog = setTimeout(() => slow.forEach((s) => s.socket.destroy()), 20_000);
  const results = await Promise.all(slow.map((s) => s.closed));
  clearTimeout(watchdog);
  for (const r of results) {
    assert.ok(r.ms >= 9000 && r.ms < 15_000, `a slow client was dropped after ${r.ms} ms`);
    assert.ok(r.sent < request.length, 'dropped before it finished its request');
    assert.ok(!r.received.includes(PUBLIC), 'a slow client got no file');
  }
  await assertAlive('slow clients');
});

const inPage = (fn, arg) => runInPage(browser, server.url, fn, arg);

test('only functions in the manifest can be called', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const names = ['__wasmbridge_init', 'default', 'initSync', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
      'valueOf', '__defineGetter__', '__wbg_init', 'memory', '__wbindgen_malloc', 'echo ', 'ECHO'];
    const settle = (p) => p.then(() => 'resolved', (e) => e.code ?? `threw ${e}`);
    // Pairs, not an object: `out['__proto__'] = …` would set a prototype.
    const calls = [];
    for (const name of names) {
      calls.push([name, await settle(pool.call(name)), await settle(pool.call({ fn: name, args: [] })), await settle(pool.api[name]())]);
    }
    const batch = (await pool.batch(names.map((n) => [n]))).map((b) => (b.ok ? 'resolved' : b.error.code));
    // Names that are not names: a typed rejection, never a throw or a hang.
    const odd = [];
    for (const fn of ['', null, undefined, 42, {}, ['echo'], Symbol('echo')]) {
      try { odd.push(await settle(pool.call(fn))); } catch (e) { odd.push(`threw ${e}`); }
      try { odd.push(await settle(pool.call({ fn, args: [] }))); } catch (e) { odd.push(`threw ${e}`); }
    }
    const still = await pool.call('echo', 'still fine');
    pool.close();
    return { calls, batch, odd, still };
  });
  assert.equal(r.calls.length, 14);
  for (const [name, ...codes] of r.calls) {
    assert.deepEqual(codes, ['UNKNOWN_FUNCTION', 'UNKNOWN_FUNCTION', 'UNKNOWN_FUNCTION'], JSON.stringify(name));
  }
  assert.deepEqual(r.batch, Array(14).fill('UNKNOWN_FUNCTION'));
  for (const code of r.odd) assert.ok(['UNKNOWN_FUNCTION', 'BAD_ARGUMENT'].includes(code), `a non-name was ${code}`);
  assert.equal(r.still, 'still fine');
});

test('__proto__ and constructor keys travel as data and pollute nothing', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const hostile = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"p":1}},"nested":{"__proto__":{"deep":1}}}');
    const back = await pool.call('echo', hostile);
    const batched = (await pool.batch([['echo', hostile]]))[0].value;
    const viaApi = await pool.api.echo([hostile]);
    const plain = await pool.call('echo', {});
    const out = {
      ownKeys: Object.getOwnPropertyNames(back).sort(),
      protoIsObject: Object.getPrototypeOf(back) === Object.prototype,
      protoData: back.__proto__?.polluted ?? null,
      ownProtoData: Object.getOwnPropertyDescriptor(back, '__proto__')?.value?.polluted ?? null,
      constructorData: back.constructor?.prototype?.p ?? null,
      nestedOwn: Object.getOwnPropertyNames(back.nested),
      batchedKeys: Object.getOwnPropertyNames(batched).sort(),
      apiKeys: Object.getOwnPropertyNames(viaApi[0]).sort(),
      plainKeys: Object.keys(plain),
      plainPolluted: 'polluted' in plain,
      pagePolluted: [({}).polluted, ({}).p, ({}).deep, Object.prototype.polluted, Object.prototype.p].some((v) => v !== undefined),
      objectCtorIntact: ({}).constructor === Object && Object.prototype.constructor === Object,
    };
    pool.close();
    return out;
  });
  assert.deepEqual(r.ownKeys, ['__proto__', 'constructor', 'nested']);
  assert.equal(r.protoIsObject, true);
  assert.equal(r.ownProtoData, 1, '__proto__ came back as an own data property');
  assert.equal(r.constructorData, 1, 'constructor came back as data');
  assert.deepEqual(r.nestedOwn, ['__proto__']);
  assert.deepEqual(r.batchedKeys, ['__proto__', 'constructor', 'nested']);
  assert.deepEqual(r.apiKeys, ['__proto__', 'constructor', 'nested']);
  assert.deepEqual(r.plainKeys, []);
  assert.equal(r.plainPolluted, false);
  assert.equal(r.pagePolluted, false, 'Object.prototype on the page is untouched');
  assert.equal(r.objectCtorIntact, true);
});

test('arguments over maxArgBytes reject with BAD_ARGUMENT before any worker sees them', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, maxArgBytes: 1024 });
    const attempt = (p) => p.then((v) => ({ ok: true, length: v?.length ?? null }), (e) => ({ ok: false, code: e.code, message: e.message }));
    const nested = { a: [] };
    for (let i = 0; i < 200; i++) nested.a.push({ k: i });
    const cyclic = { name: 'x'.repeat(600) };
    cyclic.self = cyclic;
    cyclic.list = [cyclic, cyclic];
    const out = {
      small: await attempt(pool.call('echo', 'x'.repeat(100))),
      string: await attempt(pool.call('echo', 'x'.repeat(600))),
      bytes: await attempt(pool.call('sumBytes', new Uint8Array(2048))),
      smallBytes: await attempt(pool.call('sumBytes', new Uint8Array(256))),
      nested: await attempt(pool.call('echo', nested)),
      keys: await attempt(pool.call('echo', { ['k'.repeat(1000)]: 1 })),
      cyclic: await attempt(pool.call('echo', cyclic)),
      batch: (await pool.batch([['echo', 'y'.repeat(2000)], ['echo', 'ok']])).map((b) => (b.ok ? b.value : b.error.code)),
      options: await attempt(pool.call({ fn: 'echo', args: ['z'.repeat(4096)] })),
    };
    out.stats = pool.stats().functions?.echo?.errors ?? null;
    out.after = await pool.call('echo', 'after');
    pool.close();
    return out;
  });
  assert.deepEqual(r.small, { ok: true, length: 100 });
  for (const key of ['string', 'bytes', 'nested', 'keys', 'cyclic', 'options']) {
    assert.equal(r[key].ok, false, `${key} should have been refused`);
    assert.equal(r[key].code, 'BAD_ARGUMENT', key);
    assert.match(r[key].message, /maxArgBytes/, key);
  }
  assert.equal(r.smallBytes.ok, true);
  assert.deepEqual(r.batch, ['BAD_ARGUMENT', 'ok']);
  assert.equal(r.after, 'after');
  assert.ok(r.stats?.BAD_ARGUMENT >= 5, `refused calls are counted in stats: ${JSON.stringify(r.stats)}`);
});
