// The Godot side: crates/wasmbridge/runtime/godot.js (window.WasmBridge for JavaScriptBridge) and the
// GDScript addon in godot/addons/wasmbridge, run in a real Godot 4.6 web engine
// (fetched from npm into js/.cache on first run) in Debian's Chromium, with
// and without cross-origin isolation. Each GDScript test checks everything
// itself and quits with 0 only when all its checks passed.
//
// Needs: target/debug/wasmbridge (or WASMBRIDGE_BIN) and the bundles
// target/wasmbridge/test-guest and target/wasmbridge/demo-guest.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, openPage, bundle, BIN, TARGET } from './harness.mjs';
import { ensureEngine, makeRunnerSite, runGodot, placeFile, addonFiles, runnerPack, runnerHtml, REPO } from './godot/engine.mjs';
import { createBridge, parseGodotJson, godotStrtod } from '../../crates/wasmbridge/runtime/godot.js';

// ---------------------------------------------------------------------------
// The adapter over a stand-in pool, in Node: argument decoding, result
// encoding, errors, ids, cancellation and buffers, without a browser.

function fakePool({ functions = [], ready = Promise.resolve(), impl = {} } = {}) {
  const calls = [];
  let isReady = false;
  const pool = {
    calls,
    ready: ready.then(() => { isReady = true; return pool; }),
    get functions() { return isReady ? functions : []; },
    stats: () => ({ workers: [], functions: {}, queued: 0, inFlight: 0, closed: false, isolated: false }),
    call(spec) {
      calls.push(spec);
      if (spec.signal?.aborted) return Promise.reject(Object.assign(new Error(`${spec.fn} was cancelled before it started`), { code: 'CANCELLED' }));
      const f = impl[spec.fn];
      if (!f) return Promise.reject(Object.assign(new Error(`no function named ${spec.fn}`), { code: 'UNKNOWN_FUNCTION' }));
      return new Promise((resolve, reject) => {
        spec.signal?.addEventListener('abort', () => reject(Object.assign(new Error(`${spec.fn} was cancelled`), { code: 'CANCELLED' })));
        Promise.resolve().then(() => f(...spec.args, spec)).then(resolve, reject);
      });
    },
  };
  pool.ready.catch(() => {});
  return pool;
}

/** Calls through the bridge and resolves with the parsed callback payloads (progress first, result last). */
function callBridge(bridge, fn, argsJson, optionsJson) {
  return new Promise((resolve) => {
    const messages = [];
    const id = bridge.call(fn, argsJson, (json) => {
      assert.equal(typeof json, 'string', 'the callback gets one JSON string');
      const msg = JSON.parse(json);
      messages.push(msg);
      if ('ok' in msg) resolve({ id, result: msg, messages });
    }, optionsJson);
  });
}

const FUNCTIONS = [
  { name: 'echo', params: [{ name: 'value', type: 'any', optional: false }], returns: 'any' },
  { name: 'factorize', params: [{ name: 'n', type: 'bigint', optional: false }], returns: 'BigUint64Array' },
  { name: 'half', params: [{ name: 'x', type: 'number', optional: false }], returns: 'number' },
];

describe('godot.js adapter (in Node, over a stand-in pool)', () => {
  test('results: values, BigInt as decimal strings, bytes as buffer handles, non-finite numbers', async () => {
    const bridge = createBridge(fakePool({ functions: FUNCTIONS, impl: { echo: (v) => v } }));
    let { result } = await callBridge(bridge, 'echo', '[{"a":1,"b":[true,null,"x"],"c":0.1}]');
    assert.deepEqual(result.value, { a: 1, b: [true, null, 'x'], c: 0.1 });
    assert.equal(result.ok, true);

    ({ result } = await callBridge(bridge, 'echo', '[{"$bigint":"18446744073709551615"}]'));
    assert.equal(result.value, '18446744073709551615');

    ({ result } = await callBridge(bridge, 'echo', '[{"$base64":"AAEC/w=="}]'));
    assert.equal(typeof result.value.$buffer, 'number');
    assert.equal(result.value.$type, 'Uint8Array');
    assert.equal(result.value.length, 4);
    assert.equal(bridge.bufferCount(), 1);
    const bytes = bridge.takeBuffer(result.value.$buffer);
    assert.deepEqual([...bytes], [0, 1, 2, 255]);
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.byteLength, bytes.buffer.byteLength, 'a taken buffer owns its whole ArrayBuffer');
    assert.equal(bridge.takeBuffer(result.value.$buffer), null, 'a buffer is taken once');

    ({ result } = await callBridge(bridge, 'echo', '[{"$base64":"AACAPwAAAEA=","$type":"Float32Array"}]'));
    assert.equal(result.value.$type, 'Float32Array');
    assert.deepEqual([...new Float32Array(bridge.takeBuffer(result.value.$buffer).buffer)], [1, 2]);

    ({ result } = await callBridge(bridge, 'echo', '[[{"$number":"NaN"},{"$number":"Infinity"},{"$number":"-Infinity"}]]'));
    assert.deepEqual(result.value, [{ $number: 'NaN' }, { $number: 'Infinity' }, { $number: '-Infinity' }]);
  });

  test('a window into a larger buffer is handed over as exactly its bytes', async () => {
    const big = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const bridge = createBridge(fakePool({ functions: FUNCTIONS, impl: { echo: () => big.subarray(2, 5) } }));
    const { result } = await callBridge(bridge, 'echo', '[0]');
    const bytes = bridge.takeBuffer(result.value.$buffer);
    assert.deepEqual([...bytes], [1, 2, 3]);
    assert.equal(bytes.buffer.byteLength, 3);
  });

  test('manifest types: decimal strings and whole numbers become BigInt for bigint parameters', async () => {
    const pool = fakePool({ functions: FUNCTIONS, impl: { factorize: (n) => new BigUint64Array([n, 1n]), half: (x) => x / 2 } });
    const bridge = createBridge(pool);
    let { result } = await callBridge(bridge, 'factorize', '["18446744073709551557"]');
    assert.equal(typeof pool.calls.at(-1).args[0], 'bigint');
    assert.equal(pool.calls.at(-1).args[0], 18446744073709551557n);
    assert.equal(result.value.$type, 'BigUint64Array');
    bridge.releaseBuffer(result.value.$buffer);
    await callBridge(bridge, 'factorize', '[600851475143]');
    assert.equal(pool.calls.at(-1).args[0], 600851475143n);
    ({ result } = await callBridge(bridge, 'half', '[{"$bigint":"9007199254740993"}]'));
    assert.equal(typeof pool.calls.at(-1).args[0], 'number', 'a BigInt for a number parameter becomes a number');
    assert.equal(result.ok, true);
    ({ result } = await callBridge(bridge, 'echo', '["18446744073709551557"]'));
    assert.equal(typeof pool.calls.at(-1).args[0], 'string', 'a string stays a string where the guest takes any');
  });

  test('calls before the pool is ready wait for it, keeping their deadline', async () => {
    let open;
    const pool = fakePool({ functions: FUNCTIONS, ready: new Promise((r) => { open = r; }), impl: { factorize: (n) => n } });
    const bridge = createBridge(pool);
    assert.equal(bridge.isReady(), false);
    assert.equal(bridge.functions(), '[]');
    let readyCalls = 0;
    bridge.ready(() => { readyCalls += 1; });
    const early = callBridge(bridge, 'factorize', '["12345678901234567890"]', '{"timeout":5000}');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.calls.length, 0, 'nothing is sent before the manifest is known');
    open();
    const { result } = await early;
    assert.deepEqual(result, { id: result.id, ok: true, value: '12345678901234567890' });
    const timeout = pool.calls.at(-1).timeout;
    // The 50 ms wait before ready must come off the 5000 ms (timers may fire a
    // fraction of a millisecond early against performance.now, so not all 50).
    assert.ok(timeout > 4000 && timeout < 4975, `the timeout left is counted from the call, got ${timeout}`);
    assert.equal(bridge.isReady(), true);
    assert.equal(readyCalls, 1);
    bridge.ready(() => { readyCalls += 1; });
    assert.equal(readyCalls, 2, 'ready() calls back at once when ready');
    assert.equal(JSON.parse(bridge.functions()).length, 3);
  });

  test('a pool that fails to start fails every call and calls the error callback', async () => {
    const failure = Object.assign(new Error('the pool failed to start: 404'), { code: 'INIT_FAILED' });
    const bridge = createBridge(fakePool({ ready: Promise.reject(failure) }));
    const errors = [];
    bridge.ready(() => assert.fail('ready must not fire'), (json) => errors.push(JSON.parse(json)));
    const { result } = await callBridge(bridge, 'echo', '[1]');
    assert.equal(result.ok, false);
    assert.equal(bridge.state(), 'failed');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].error.code, 'INIT_FAILED');
  });

  test('malformed input is a BAD_ARGUMENT result, never a throw', async () => {
    const pool = fakePool({ functions: FUNCTIONS, impl: { echo: (v) => v } });
    const bridge = createBridge(pool);
    const cases = [
      ['echo', '[1,', undefined, /argsJson is not valid JSON/],
      ['echo', '{"a":1}', undefined, /argsJson must be a JSON array/],
      ['echo', '"text"', undefined, /argsJson must be a JSON array/],
      ['echo', '[{"$base64":"%%%"}]', undefined, /not valid base64/],
      ['echo', '[{"$base64":12}]', undefined, /\$base64 must be a string/],
      ['echo', '[{"$base64":"AAA=","$type":"Nope"}]', undefined, /\$type must name a typed array/],
      ['echo', '[{"$base64":"AAA=","$type":"Float64Array"}]', undefined, /whole Float64Array elements/],
      ['echo', '[{"$buffer":999}]', undefined, /no buffer with handle 999/],
      ['echo', '[{"$bigint":"12x"}]', undefined, /\$bigint must be a decimal string/],
      ['echo', '[{"$number":"nan"}]', undefined, /\$number must be/],
      ['echo', '[1]', '{bad', /optionsJson is not valid JSON/],
      ['echo', '[1]', '[]', /optionsJson must be a JSON object/],
      ['echo', '[1]', '{"timeout":-1}', /timeout must be a number/],
      ['', '[1]', undefined, /function name must be a non-empty string/],
      [42, '[1]', undefined, /function name must be a non-empty string/],
    ];
    for (const [fn, args, opts, message] of cases) {
      let result;
      assert.doesNotThrow(() => { result = callBridge(bridge, fn, args, opts); });
      const { result: r } = await result;
      assert.equal(r.ok, false, `${fn}(${args}) ${opts ?? ''}`);
      assert.equal(r.error.code, 'BAD_ARGUMENT', `${args}: ${r.error.message}`);
      assert.match(r.error.message, message);
    }
    assert.equal(pool.calls.length, 0, 'no malformed call reached the pool');
    // No callback: nothing runs, no throw, id 0.
    assert.equal(bridge.call('echo', '[1]', undefined), 0);
  });

  test('__proto__ and constructor keys round-trip as plain keys and reach no prototype', async () => {
    const pool = fakePool({ functions: FUNCTIONS, impl: { echo: (v) => v } });
    const bridge = createBridge(pool);
    const sent = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"nested":{"__proto__":{"polluted":1},"ok":1}}';
    const { messages } = await callBridge(bridge, 'echo', `[${sent}]`, '{"__proto__":{"timeout":1}}');
    assert.equal(JSON.stringify(messages.at(-1).value), sent, 'every key comes back');
    assert.equal({}.polluted, undefined);
    assert.equal(Object.prototype.polluted, undefined);
    const arg = pool.calls.at(-1).args[0];
    assert.equal(Object.getPrototypeOf(arg), Object.prototype);
    assert.equal(Object.hasOwn(arg, '__proto__'), true, '__proto__ is an own data property');
    assert.equal(arg.polluted, undefined);
    assert.equal(pool.calls.at(-1).timeout, 0, 'an option hidden in __proto__ is ignored');
  });

  test('keys that start with $ travel with one more $, so no object is taken for a marker', async () => {
    const pool = fakePool({ functions: FUNCTIONS, impl: { echo: (v) => v, give: () => ({ $buffer: 1, $bigint: '5', $$x: 2, plain: { $f64: 'zz' } }) } });
    const bridge = createBridge(pool);
    let { result } = await callBridge(bridge, 'echo', '[{"$$bigint":"1000000016000000063","$$buffer":1,"$$$x":{"$$number":"NaN"},"$$":0}]');
    assert.deepEqual({ ...pool.calls.at(-1).args[0] }, { $bigint: '1000000016000000063', $buffer: 1, $$x: { $number: 'NaN' }, $: 0 }, 'the guest sees the keys as the user wrote them');
    assert.deepEqual(result.value, { $$bigint: '1000000016000000063', $$buffer: 1, $$$x: { $$number: 'NaN' }, $$: 0 }, 'and they go back escaped');
    ({ result } = await callBridge(bridge, 'give', '[]'));
    assert.deepEqual(result.value, { $$buffer: 1, $$bigint: '5', $$$x: 2, plain: { $$f64: 'zz' } }, 'a guest result shaped like a marker is escaped');
    assert.equal(bridge.bufferCount(), 0);
    ({ result } = await callBridge(bridge, 'echo', '[{"$bigint":"1","other":2}]'));
    assert.equal(result.error.code, 'BAD_ARGUMENT');
    assert.match(result.error.message, /args\[0\]: an object with the keys "\$bigint", "other" is no marker/);
  });

  test('text from Godot: raw control characters and \\v read as the characters they stand for', () => {
    let controls = '';
    for (let c = 1; c < 32; c++) controls += String.fromCharCode(c);
    // What Godot's JSON.stringify writes: \v as an escape, the rest raw but for \b \t \n \f \r.
    const godot = `["${controls.replace(/[\b\t\n\f\r\v]/g, (c) => ({ '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '\v': '\\v' })[c])}","a\\\\v\\\"b"]`;
    assert.throws(() => JSON.parse(godot));
    assert.deepEqual(parseGodotJson(godot), [controls, 'a\\v"b']);
    assert.equal(parseGodotJson('{"a":"\\u0041"}').a, 'A', 'valid JSON is read as it is');
  });

  test('results: -0 and lone surrogates reach Godot as GDScript can hold them', async () => {
    const bridge = createBridge(fakePool({ functions: FUNCTIONS, impl: { echo: () => [-0, 0, 'a\ud800b', { '\udc00': 1 }] } }));
    const { result } = await callBridge(bridge, 'echo', '[0]');
    assert.deepEqual(result.value, [{ $f64: '0000000000000080' }, 0, 'a\ufffdb', { '\ufffd': 1 }]);
  });

  test('ids, asynchronous callbacks, cancel, progress, guest errors', async () => {
    const pool = fakePool({
      functions: FUNCTIONS,
      impl: {
        echo: (v, spec) => new Promise((resolve) => {
          spec.onProgress?.(0.5);
          setTimeout(() => resolve(v), 20);
        }),
        half: () => Promise.reject(Object.assign(new Error('nope'), { code: 'MY_CODE', toJSON() { return { code: 'MY_CODE', message: 'nope', data: { n: 10n } }; } })),
      },
    });
    const bridge = createBridge(pool);
    let called = false;
    const id1 = bridge.call('echo', '[1]', () => { called = true; });
    assert.equal(called, false, 'the callback never runs before call() returns');
    const id2 = bridge.call('echo', '[2]', () => {});
    assert.ok(Number.isInteger(id1) && id2 === id1 + 1, 'ids are consecutive integers');

    const { id, result } = await callBridge(bridge, 'echo', '[3]');
    assert.equal(result.value, 3);
    assert.equal(result.id, id);

    const withProgress = await callBridge(bridge, 'echo', '[4]', '{"progress":true}');
    assert.deepEqual(withProgress.messages[0], { id: withProgress.id, progress: 0.5 });
    assert.equal(withProgress.messages.length, 2);

    const slow = new Promise((resolve) => {
      const cid = bridge.call('echo', '[5]', (json) => resolve({ cid, msg: JSON.parse(json) }));
      assert.equal(bridge.cancel(cid), true);
      assert.equal(bridge.cancel(cid), true, 'cancel is harmless until the call settles');
    });
    const { cid, msg } = await slow;
    assert.equal(msg.ok, false);
    assert.equal(msg.error.code, 'CANCELLED');
    assert.equal(bridge.cancel(cid), false, 'cancel of a settled call is false');
    assert.equal(bridge.cancel(123456), false);

    const failed = await callBridge(bridge, 'half', '[1]');
    assert.equal(failed.result.ok, false);
    assert.equal(failed.result.error.code, 'MY_CODE');
    assert.equal(failed.result.error.message, 'nope');
  });

  test('a callback that throws does not break later calls', async () => {
    const bridge = createBridge(fakePool({ functions: FUNCTIONS, impl: { echo: (v) => v } }));
    const original = console.error;
    const logged = [];
    console.error = (...a) => logged.push(a.join(' '));
    try {
      bridge.call('echo', '[1]', () => { throw new Error('gdscript side broke'); });
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      console.error = original;
    }
    assert.ok(logged.some((l) => l.includes('gdscript side broke')));
    const { result } = await callBridge(bridge, 'echo', '[2]');
    assert.equal(result.value, 2);
  });

  test('every double reaches Godot exactly: plain when its parser gets it right, else as $f64 bytes', async () => {
    const xs = [0.1, 1 / 3, Math.PI, 4500000000000000.5, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0.5, 1e21, 2 ** 60];
    let seed = 7;
    const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    for (let i = 0; i < 5000; i++) xs.push((random() - 0.5) * 10 ** Math.floor(random() * 60 - 30));
    const bridge = createBridge(fakePool({ functions: FUNCTIONS, impl: { echo: () => xs } }));
    const { result } = await callBridge(bridge, 'echo', '[0]');
    let asBytes = 0;
    result.value.forEach((v, i) => {
      if (typeof v === 'number') {
        assert.equal(godotStrtod(JSON.stringify(v)), xs[i], `${xs[i]} as plain JSON`);
      } else {
        asBytes += 1;
        const view = new DataView(new ArrayBuffer(8));
        for (let b = 0; b < 8; b++) view.setUint8(b, parseInt(v.$f64.slice(2 * b, 2 * b + 2), 16));
        assert.equal(view.getFloat64(0, true), xs[i]);
      }
    });
    assert.ok(asBytes > 0 && asBytes < xs.length, `some, not all, go as bytes (${asBytes} of ${xs.length})`);
    // The port agrees with what the real engine showed: 0.1 parses exactly, 4500000000000000.5 does not.
    assert.equal(godotStrtod('0.1'), 0.1);
    assert.notEqual(godotStrtod('4500000000000000.5'), 4500000000000000.5);
  });

  test('putBase64 stages bytes for a $buffer argument', async () => {
    const pool = fakePool({ functions: FUNCTIONS, impl: { echo: (v) => v } });
    const bridge = createBridge(pool);
    const handle = bridge.putBase64('AAAgQQAAoEA=', 'Float32Array');
    assert.ok(handle > 0);
    assert.equal(bridge.putBase64('%%%'), 0);
    const { result } = await callBridge(bridge, 'echo', JSON.stringify([{ $buffer: handle }]));
    const arg = pool.calls.at(-1).args[0];
    assert.ok(arg instanceof Float32Array);
    assert.deepEqual([...arg], [10, 5]);
    assert.ok(pool.calls.at(-1).transfer.includes(arg.buffer), 'staged bytes are transferred, not copied');
    assert.equal(result.value.$type, 'Float32Array');
    bridge.releaseBuffer(result.value.$buffer);
    const again = await callBridge(bridge, 'echo', JSON.stringify([{ $buffer: handle }]));
    assert.equal(again.result.error.code, 'BAD_ARGUMENT', 'a handle is used once');
    assert.equal(bridge.bufferCount(), 0);
  });

  test('unsent buffers expire after bufferTtl', async () => {
    const bridge = createBridge(fakePool({ functions: FUNCTIONS, impl: { echo: () => new Uint8Array(3) } }), { bufferTtl: 1 });
    await callBridge(bridge, 'echo', '[0]');
    assert.equal(bridge.bufferCount(), 1);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(bridge.bufferCount(), 0);
  });
});

// ---------------------------------------------------------------------------
// A real Godot 4.6 web engine in Chromium.

const GODOT_TIMEOUT = 120_000;

/** Opens `url` through the harness, asking for uncompressed responses and adding routes first. */
async function openGodotPage(browser, url, { routes = [] } = {}) {
  const opened = await openPage(browser, 'about:blank');
  // `wasmbridge serve` compresses on the fly: brotli on the 37 MB engine takes
  // ~15 s in a debug build. The engine is not what is under test here.
  await opened.context.setExtraHTTPHeaders({ 'accept-encoding': 'identity' });
  for (const [pattern, handler] of routes) await opened.page.route(pattern, handler);
  await opened.page.goto(url);
  return opened;
}

/**
 * Runs `scripts/<script>` on `page` and asserts it passed. With `quiet`, the
 * engine must also print nothing to stderr (no engine error, no push_error).
 */
async function runScript(t, browser, baseUrl, page, script, { routes = [], quiet = false } = {}) {
  const t0 = performance.now();
  const opened = await openGodotPage(browser, `${baseUrl}${page}?script=scripts/${script}`, { routes });
  try {
    const { exit, lines } = await runGodot(opened.page, { timeout: GODOT_TIMEOUT });
    const ms = Math.round(performance.now() - t0);
    const summary = lines.find((l) => l.startsWith('RESULT')) ?? '(no RESULT line)';
    t.diagnostic(`${script} on ${page}: exit ${exit}, ${summary}, ${ms} ms`);
    for (const l of lines) if (/concurrent calls took/.test(l)) t.diagnostic(l);
    const failures = lines.filter((l) => /FAIL|SCRIPT ERROR|Parse Error|runner failed/.test(l));
    assert.deepEqual(failures, [], `GDScript reported:\n${lines.join('\n')}`);
    assert.equal(exit, 0, `the GDScript test exited with ${exit}:\n${lines.join('\n')}`);
    assert.deepEqual(opened.errors, [], 'page errors');
    if (quiet) assert.deepEqual(lines.filter((l) => l.startsWith('stderr:')), [], 'the engine printed errors');
    return lines;
  } finally {
    await opened.close();
  }
}

/** `wasmbridge godot install`, the built binary as a user runs it; returns what it printed. */
function cliInstall(exportDir, bundleDir, ...flags) {
  return execFileSync(BIN, ['godot', 'install', exportDir, '--bundle', bundleDir, ...flags], { encoding: 'utf8' });
}

/** A copy of the package's original export (the game) in `dir`; big files hard-linked. */
function copyExport(engineDir, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(engineDir)) {
    if (/\.(wasm|pck)$/.test(f)) placeFile(join(engineDir, f), join(dir, f));
    else copyFileSync(join(engineDir, f), join(dir, f));
  }
}

/** The package's page loads Prism from a CDN; this machine has no network. */
const PRISM_ROUTE = [/cdnjs\.cloudflare\.com/, (route) => route.fulfill({ contentType: 'text/javascript', body: 'window.Prism = { languages: {}, highlightElement() {} };' })];

for (const isolated of [true, false]) {
  const mode = isolated ? 'isolated' : 'not-isolated';
  describe(`Godot 4.6 web engine (${isolated ? 'cross-origin isolated' : 'not cross-origin isolated'})`, () => {
    let browser;
    let server;
    let demoServer;
    let engineDir;
    let site;

    before(async () => {
      engineDir = ensureEngine();
      site = makeRunnerSite(join(TARGET, 'test-sites', `godot-${mode}`), { engineDir, bundleDir: bundle('test-guest') });
      server = await startServer(site, { isolated });
      browser = await launchBrowser();
    });

    after(async () => {
      await server?.close();
      await demoServer?.close();
      await browser?.close();
    });

    test('the page is isolated as expected', async (t) => {
      const opened = await openGodotPage(browser, `${server.url}index.html?script=scripts/values.gd`);
      try {
        assert.equal(await opened.page.evaluate(() => globalThis.crossOriginIsolated === true), isolated);
        await opened.page.waitForFunction(() => globalThis.WasmBridge?.isReady(), null, { timeout: 20_000 });
        assert.equal(await opened.page.evaluate(() => JSON.parse(globalThis.WasmBridge.stats()).isolated), isolated);
      } finally {
        await opened.close();
      }
    });

    test('GDScript: every kind of value round-trips, every failure has its code, 1000 concurrent awaits', async (t) => {
      await runScript(t, browser, server.url, 'index.html', 'values.gd');
    });

    test('GDScript: calls made before window.WasmBridge exists and before the pool is ready complete', async (t) => {
      // The manifest arrives with godot.js (manifest.js); the module is what the pool waits for.
      const slowModule = async (route) => {
        await new Promise((r) => setTimeout(r, 1000));
        await route.continue();
      };
      await runScript(t, browser, server.url, 'late.html', 'early.gd', { routes: [[(url) => url.pathname.includes('/wasmbridge/') && url.pathname.endsWith('.wasm'), slowModule]] });
    });

    test('GDScript: without window.WasmBridge calls fail with UNAVAILABLE and the game goes on, with no engine error', async (t) => {
      await runScript(t, browser, server.url, 'none.html', 'unavailable.gd', { quiet: true });
    });

    test('GDScript: godot.js loaded 2 s late: calls made meanwhile complete, with no engine error', async (t) => {
      await runScript(t, browser, server.url, 'late2s.html', 'late.gd', { quiet: true });
    });

    test('GDScript: codec property test: generated values reach the guest and come back unchanged', async (t) => {
      await runScript(t, browser, server.url, 'index.html', 'codec.gd', { quiet: true });
    });

    test('the addon zip of `cargo xtask addon`, unpacked into a fresh project, works as the autoload', async (t) => {
      const dir = join(TARGET, 'test-sites', `godot-addon-zip-${mode}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const zip = join(dir, 'wasmbridge-godot-addon.zip');
      execFileSync('cargo', ['xtask', 'addon', '--out', zip], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      const unpacked = join(dir, 'project');
      execFileSync('python3', ['-m', 'zipfile', '-e', zip, unpacked]);
      const names = addonFiles(join(unpacked, 'addons', 'wasmbridge')).map(([name]) => name);
      const web = ['error.js', 'godot-codec.js', 'godot.js', 'lane-codec.js', 'lane-worker.js', 'lane.js', 'manifest.js', 'pool-call.js', 'pool-load.js', 'pool-validate.js', 'pool.js', 'protocol.js', 'shared.js', 'supervisor.js', 'thread-worker.js', 'threads.js', 'worker.js'];
      assert.deepEqual(readdirSync(unpacked), ['addons']);
      assert.deepEqual(names.sort(), ['LICENSE', 'README.md', 'icon.svg', 'plugin.cfg', 'plugin.gd', 'wasmbridge.gd', ...web.map((f) => `web/${f}`)].map((f) => `addons/wasmbridge/${f}`).sort());
      for (const f of web) {
        // The runtime's own files, unlinked (a bundle links godot.js's imports into its
        // wasmbridge.js, and its manifest.js holds its build's manifest).
        const expected = join(REPO, 'crates', 'wasmbridge', 'runtime', f);
        assert.equal(readFileSync(join(unpacked, 'addons', 'wasmbridge', 'web', f), 'utf8'), readFileSync(expected, 'utf8'), `web/${f} is the runtime's`);
      }
      writeFileSync(join(site, 'fresh.zip'), runnerPack({ addonEntries: addonFiles(join(unpacked, 'addons', 'wasmbridge')) }));
      writeFileSync(join(site, 'fresh.html'), runnerHtml({ pack: 'fresh.zip' }));
      await runScript(t, browser, server.url, 'fresh.html', 'fresh.gd', { quiet: true });
    });

    test('GDScript: the demo guest (fibonacci, factorize)', async (t) => {
      const demoSite = makeRunnerSite(join(TARGET, 'test-sites', `godot-demo-${mode}`), { engineDir, bundleDir: bundle('demo-guest') });
      demoServer = await startServer(demoSite, { isolated });
      await runScript(t, browser, demoServer.url, 'index.html', 'demo.gd');
    });

    test('the example project (godot/example) runs its calculator, Fibonacci and image filters', async (t) => {
      assert.ok(demoServer, 'the demo guest test started the server');
      const opened = await openGodotPage(browser, `${demoServer.url}example.html`);
      try {
        const { exit, lines } = await runGodot(opened.page, { timeout: GODOT_TIMEOUT });
        for (const l of lines.filter((x) => x.startsWith('smoke:'))) t.diagnostic(l);
        assert.deepEqual(lines.filter((l) => /SCRIPT ERROR|Parse Error/.test(l)), [], lines.join('\n'));
        assert.equal(exit, 0, lines.join('\n'));
        assert.ok(lines.includes('smoke: 0 failure(s)'), lines.join('\n'));
        assert.deepEqual(opened.errors, [], 'page errors');
      } finally {
        await opened.close();
      }
    });

    test('the original game, after `wasmbridge godot install`, boots with no page error and WasmBridge.ready fires', async (t) => {
      const exportDir = join(TARGET, 'test-sites', `godot-export-${mode}`);
      copyExport(engineDir, exportDir);
      const original = readFileSync(join(exportDir, 'index.html'), 'utf8');
      const printed = cliInstall(exportDir, bundle('test-guest'));
      assert.match(printed, /html\/head_include=/);
      const first = readFileSync(join(exportDir, 'index.html'), 'utf8');
      cliInstall(exportDir, bundle('test-guest'));
      assert.equal(readFileSync(join(exportDir, 'index.html'), 'utf8'), first, 'a second install changes nothing');
      const html = readFileSync(join(exportDir, 'index.html'), 'utf8');
      assert.equal(html.match(/wasmbridge\/godot\.js/g)?.length, 1);
      assert.ok(existsSync(join(exportDir, 'wasmbridge', 'godot.js')));
      assert.notEqual(html, original);

      const exportServer = await startServer(exportDir, { isolated });
      try {
        const t0 = performance.now();
        const opened = await openGodotPage(browser, `${exportServer.url}index.html`, { routes: [PRISM_ROUTE] });
        try {
          const readyState = await opened.page.evaluate(() => new Promise((resolve) => {
            const timer = setTimeout(() => resolve('timeout'), 30_000);
            globalThis.WasmBridge.ready(() => { clearTimeout(timer); resolve('ready'); }, (e) => { clearTimeout(timer); resolve(`failed: ${e}`); });
          }));
          assert.equal(readyState, 'ready');
          // The game itself: its GDScript installs GodotShaderViewer through JavaScriptBridge once booted.
          await opened.page.waitForFunction(() => typeof globalThis.GodotShaderViewer?.loadShader === 'function', null, { timeout: 60_000 });
          const sum = await opened.page.evaluate(() => new Promise((resolve) => globalThis.WasmBridge.call('add', '[40, 2]', resolve)));
          assert.equal(JSON.parse(sum).value, 42);
          t.diagnostic(`game booted and the bridge answered after ${Math.round(performance.now() - t0)} ms`);
          await opened.page.waitForTimeout(500);
          assert.deepEqual(opened.errors, [], 'page errors');
        } finally {
          await opened.close();
        }
      } finally {
        await exportServer.close();
      }
    });
  });
}

describe('Godot 4.6 web engine behind a server without COOP/COEP, after `wasmbridge godot install --coi-serviceworker`', () => {
  let browser;
  let server;
  let exportDir;

  before(async () => {
    exportDir = join(TARGET, 'test-sites', 'godot-export-coi');
    copyExport(ensureEngine(), exportDir);
    // Requests a service worker makes bypass page.route, so the game's CDN
    // script (Prism; this machine has no network) is replaced by a local stub.
    const html = readFileSync(join(exportDir, 'index.html'), 'utf8');
    writeFileSync(join(exportDir, 'index.html'), html.replace(/https:\/\/cdnjs\.cloudflare\.com\/[^"]*prism\.min\.js/, 'prism-stub.js'));
    writeFileSync(join(exportDir, 'prism-stub.js'), 'window.Prism = { languages: {}, highlightElement() {} };\n');
    // The export has no favicon; the browser's request for one goes through
    // the service worker, whose 404 then shows as a console error.
    writeFileSync(join(exportDir, 'favicon.ico'), '');
    browser = await launchBrowser();
  });

  after(async () => {
    await server?.close();
    await browser?.close();
  });

  test('the service worker makes the page cross-origin isolated, and the bridge works', async (t) => {
    const printed = cliInstall(exportDir, bundle('test-guest'), '--coi-serviceworker');
    assert.match(printed, /coi-serviceworker\.js/);
    const first = readFileSync(join(exportDir, 'index.html'), 'utf8');
    cliInstall(exportDir, bundle('test-guest'), '--coi-serviceworker');
    assert.equal(readFileSync(join(exportDir, 'index.html'), 'utf8'), first, 'a second install changes nothing');
    assert.equal(first.match(/coi-serviceworker\.js/g)?.length, 1);
    assert.ok(first.indexOf('coi-serviceworker.js') < first.indexOf('wasmbridge/godot.js'), 'the service worker loads first');
    assert.match(readFileSync(join(exportDir, 'coi-serviceworker.js'), 'utf8'), /coi-serviceworker v0\.1\.7/);
    assert.match(readFileSync(join(exportDir, 'coi-serviceworker.LICENSE'), 'utf8'), /MIT License/);

    server = await startServer(exportDir, { isolated: false });
    const plain = await fetch(`${server.url}index.html`);
    assert.equal(plain.headers.get('cross-origin-opener-policy'), null, 'the server sends no COOP');
    assert.equal(plain.headers.get('cross-origin-embedder-policy'), null, 'the server sends no COEP');

    const opened = await openGodotPage(browser, `${server.url}index.html`);
    const missing = [];
    opened.page.on('response', (r) => { if (r.status() >= 400) missing.push(`${r.status()} ${r.url()}`); });
    try {
      // The service worker registers on the first load and reloads the page once.
      const deadline = Date.now() + 30_000;
      let isolated = false;
      while (!isolated && Date.now() < deadline) {
        isolated = await opened.page.evaluate(() => globalThis.crossOriginIsolated === true).catch(() => false);
        if (!isolated) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(isolated, true, 'crossOriginIsolated after the service worker took over');
      const readyState = await opened.page.evaluate(() => new Promise((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), 30_000);
        const wait = () => {
          if (!globalThis.WasmBridge) return setTimeout(wait, 50);
          globalThis.WasmBridge.ready(() => { clearTimeout(timer); resolve('ready'); }, (e) => { clearTimeout(timer); resolve(`failed: ${e}`); });
        };
        wait();
      }));
      assert.equal(readyState, 'ready');
      assert.equal(await opened.page.evaluate(() => JSON.parse(globalThis.WasmBridge.stats()).isolated), true, 'the pool runs isolated');
      const sum = await opened.page.evaluate(() => new Promise((resolve) => globalThis.WasmBridge.call('add', '[40, 2]', resolve)));
      assert.equal(JSON.parse(sum).value, 42);
      t.diagnostic('cross-origin isolated through coi-serviceworker behind `wasmbridge serve --no-isolation`');
      assert.deepEqual([opened.errors, missing], [[], []], 'page errors and failed requests');
    } finally {
      await opened.close();
    }
  });
});
