// The npm package `wasmbridge` (crates/wasmbridge/runtime/) as a user gets it:
// `npm pack`, the tarball installed into a fresh app with `npm install`, its
// entry points resolved by Node, its declarations checked by tsc (a guest's
// functions typed from the guest's own wasm-bindgen .d.ts, misuse a compile
// error), a Vite build of the app, and the package used without a bundler
// with the guest bundle given as a URL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JS_DIR, REPO, TARGET, BIN, bundle, makeSite, startServer, launchBrowser, runInPage, exec, execOk } from './harness.mjs';

const PACKAGE = join(REPO, 'crates', 'wasmbridge', 'runtime');
const WORK = join(TARGET, 'npm-test');
const APP = join(WORK, 'app');
const TSC = join(JS_DIR, 'node_modules', '.bin', 'tsc');
const VITE = join(JS_DIR, 'node_modules', '.bin', 'vite');
const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'));

/** What `npm pack --json` reported: the tarball's name and the paths it holds. */
let packed;
let browser;

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  const r = await execOk('npm', ['pack', '--json', '--pack-destination', WORK], { cwd: PACKAGE });
  const [info] = JSON.parse(r.stdout);
  packed = { tarball: join(WORK, info.filename), files: info.files.map((f) => f.path), version: info.version };
  // A fresh app: nothing but a package.json, then the tarball (it has no dependencies).
  writeFileSync(join(APP, 'package.json'), `${JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }, null, 2)}\n`);
  await execOk('npm', ['install', '--no-audit', '--no-fund', packed.tarball], { cwd: APP });
  // The guest the app calls, copied in the way the README says.
  await execOk(BIN, ['build', '-p', 'vite-example-guest', '--out', join(APP, 'public', 'wasm')]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Every path `exports` (and `types`) names, conditions included. */
function exportedPaths() {
  const paths = new Set([manifest.types]);
  const walk = (v) => {
    if (typeof v === 'string') paths.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(manifest.exports);
  return [...paths].map((p) => p.replace(/^\.\//, ''));
}

test('npm pack: every file exports names is in the tarball, with the CLI\'s version, and nothing from tests or benches', () => {
  assert.equal(packed.version, manifest.version);
  const cargo = readFileSync(join(REPO, 'Cargo.toml'), 'utf8').match(/\[workspace\.package\][^[]*?version = "([^"]+)"/);
  assert.equal(packed.version, cargo?.[1], 'the package version is the workspace (CLI) version');
  for (const path of exportedPaths()) assert.ok(packed.files.includes(path), `${path} is named by exports but not packed`);
  assert.ok(packed.files.includes('package.json'));
  for (const f of packed.files) {
    assert.doesNotMatch(f, /(^|\/)(test|tests|bench|benches|node_modules)\/|\.test\.|\.mjs$|\.map$/, `${f} does not belong in the package`);
  }
  // Every relative import of a packed module or declaration, and every file it
  // loads by `new URL('./…', import.meta.url)` (worker, worklet), is in the tarball.
  for (const f of packed.files.filter((p) => /\.(js|d\.ts)$/.test(p))) {
    const text = readFileSync(join(PACKAGE, f), 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\/?\*)/.test(l)).join('\n');
    const specs = [
      ...text.matchAll(/(?:from|import)\s*\(?\s*'(\.\/[^']+)'/g),
      ...text.matchAll(/new URL\(\s*'(\.\/[^']+)',\s*import\.meta\.url/g),
    ];
    for (const [, spec] of specs) {
      const target = join(dirname(f), spec).replace(/\.js$/, f.endsWith('.d.ts') ? '.d.ts' : '.js');
      const ok = packed.files.includes(target) || packed.files.includes(join(dirname(f), spec));
      assert.ok(ok, `${f} imports ${spec}, which is not packed`);
    }
  }
});

test('the tarball installs into a fresh app and Node resolves every entry point', async () => {
  const installed = JSON.parse(readFileSync(join(APP, 'node_modules', 'wasmbridge', 'package.json'), 'utf8'));
  assert.equal(installed.version, manifest.version);
  const script = `
    import * as main from 'wasmbridge';
    import * as ring from 'wasmbridge/ring';
    import * as audio from 'wasmbridge/audio';
    import * as godot from 'wasmbridge/godot';
    console.log(JSON.stringify({
      main: Object.keys(main).sort(), ring: Object.keys(ring).sort(), audio: Object.keys(audio).sort(),
      godot: typeof godot.install, version: godot.VERSION,
    }));`;
  const r = await execOk(process.execPath, ['--input-type=module', '-e', script], { cwd: APP });
  const got = JSON.parse(r.stdout);
  assert.deepEqual(got.main, ['CODES', 'Pool', 'RingBuffer', 'SharedRegion', 'WasmBridgeError', 'createPool', 'rowBands', 'startAudio']);
  assert.deepEqual(got.ring, ['LAYOUT', 'RingBuffer']);
  assert.deepEqual(got.audio, ['startAudio']);
  assert.equal(got.godot, 'function');
  assert.equal(got.version, manifest.version);
});

const TSCONFIG = {
  compilerOptions: {
    strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
    lib: ['es2022', 'dom'], skipLibCheck: false, types: [],
  },
};

/** Runs `tsc --strict --noEmit` on one file of the app (the package's own .d.ts are checked with it). */
async function typecheck(name, source) {
  const dir = join(APP, 'types');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.ts`), source);
  writeFileSync(join(dir, `${name}.tsconfig.json`), JSON.stringify({ ...TSCONFIG, files: [`${name}.ts`] }));
  const r = await exec(TSC, ['--strict', '--noEmit', '-p', join(dir, `${name}.tsconfig.json`)], { cwd: APP });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const GUEST = "typeof import('../public/wasm/vite_example_guest.js')";

test('tsc --strict: a pool typed from the guest\'s .d.ts compiles, and the package\'s declarations are strict-clean', async () => {
  const r = await typecheck('typed', `
import { createPool, Pool, WasmBridgeError, type FunctionName } from 'wasmbridge';
import { RingBuffer } from 'wasmbridge/ring';
import { startAudio, type AudioStream } from 'wasmbridge/audio';
import { install, createBridge, type WasmBridgeGlobal } from 'wasmbridge/godot';

type Guest = ${GUEST};

export async function typed(): Promise<string> {
  const pool = await createPool<Guest>({ bundle: '/wasm/', size: 2 });
  const mean: number = await pool.api.mean(new Float64Array([1, 2, 3]));
  const fromArray: number = await pool.api.standardDeviation([1, 2, 3]);
  const greeting: string = await pool.call('greet', 'tsc');
  const viaOptions: number = await pool.call({ fn: 'mean', args: [new Float64Array([4])], timeout: 100 });
  const moved: number = await pool.call({ fn: 'mean', args: [new Float64Array([4])], transfer: 'auto' });
  const written = await pool.call({ fn: 'mean', args: [new Float64Array([4])], transfer: 'auto', outputs: [0] });
  const writtenValue: number = written.value;
  const writtenView: ArrayBufferView = written.outputs[0];
  // @ts-expect-error transfer is 'auto' or a list of buffers
  await pool.call({ fn: 'mean', args: [new Float64Array([4])], transfer: 'all' });
  const fast: string = await pool.fastCall('greet', 'lane');
  const results = await pool.batch([['mean', new Float64Array([1])], { fn: 'greet', args: ['b'] }]);
  const pinned = await pool.pin();
  const onPin: number = await pinned.call('mean', new Float64Array([2]));
  pinned.release();
  // wasm-bindgen's own exports and wasmbridge's reserved ones are not guest functions.
  // @ts-expect-error
  pool.api.default;
  // @ts-expect-error
  pool.api.initSync;
  // @ts-expect-error
  pool.api.__wasmbridge_abi;
  // @ts-expect-error a result is a Promise of the declared type, not another type
  const wrong: string = await pool.api.mean(new Float64Array([1]));
  try {
    await pool.api.mean(new Float64Array());
  } catch (e) {
    if (e instanceof WasmBridgeError) return e.code;
  }
  // A pool without a guest type takes any name and arguments.
  const untyped: Pool = new Pool({ bundle: new URL('./wasm/', 'https://example.org/') });
  const anything: unknown = await untyped.call('whatever', 1, 'two');
  const any2: number = await untyped.api.somethingElse();
  const batched = await untyped.batch([['x', 1], { fn: 'y', args: [] }]);
  // A typed pool goes wherever a plain Pool is expected.
  const plain: Pool = pool;
  const adapter: WasmBridgeGlobal = createBridge(pool);
  const ring: RingBuffer | null = null;
  const stream: AudioStream | null = typeof window === 'undefined' ? null : await startAudio(pool, { sequence: { steps: [60] } });
  const bridge: WasmBridgeGlobal = install({ bundle: '/wasm/' });
  return [mean, fromArray, greeting, viaOptions, moved, writtenValue, writtenView.byteLength, fast, results.length, onPin, wrong, anything, any2, batched, plain, adapter, ring, stream, bridge.version].join();
}

// Classes a guest exports are not callable through the pool.
declare class Counter { free(): void }
type WithClass = { Counter: typeof Counter; total(values: Float64Array): number; default: () => Promise<unknown> };
const names: FunctionName<WithClass>[] = ['total'];
// @ts-expect-error
const notAClass: FunctionName<WithClass> = 'Counter';
export { names, notAClass };
`);
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output.trim(), '');
});

test('tsc --strict: a wrong argument type is a compile error', async () => {
  const r = await typecheck('wrong-argument', `
import { createPool } from 'wasmbridge';
const pool = await createPool<${GUEST}>({ bundle: '/wasm/' });
export const a = await pool.api.mean('1, 2, 3');
export const b = await pool.call('greet', 42);
`);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /wrong-argument\.ts\(4,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type/);
  assert.match(r.output, /wrong-argument\.ts\(5,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/);
  assert.equal(r.output.match(/error TS/g)?.length, 2, r.output);
});

test('tsc --strict: an unknown function name is a compile error', async () => {
  const r = await typecheck('unknown-name', `
import { createPool } from 'wasmbridge';
const pool = await createPool<${GUEST}>({ bundle: '/wasm/' });
export const a = await pool.api.median(new Float64Array([1]));
export const b = await pool.call('median', new Float64Array([1]));
`);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /unknown-name\.ts\(4,\d+\): error TS(2339|2551): Property 'median' does not exist on type/);
  assert.match(r.output, /unknown-name\.ts\(5,\d+\): error TS2345: Argument of type '"median"' is not assignable to parameter of type 'FunctionName</);
  assert.equal(r.output.match(/error TS/g)?.length, 2, r.output);
});

test('vite build of the fresh app emits the installed package\'s worker and worklet', async () => {
  writeFileSync(join(APP, 'index.html'), '<!doctype html><meta charset="utf-8"><body><script type="module" src="/main.js"></script></body>\n');
  writeFileSync(join(APP, 'main.js'), `import { createPool, startAudio } from 'wasmbridge';
const pool = await createPool({ bundle: '/wasm/' });
document.body.textContent = String(await pool.api.mean(new Float64Array([1, 2])));
document.body.onclick = () => startAudio(pool, { sequence: { steps: [60] } });
`);
  await execOk(VITE, ['build', APP, '--logLevel', 'warn'], { cwd: APP });
  const assets = readdirSync(join(APP, 'dist', 'assets'));
  const worker = assets.find((f) => /^worker-[\w-]+\.js$/.test(f));
  const worklet = assets.find((f) => /^audio-worklet-[\w-]+\.js$/.test(f));
  const entry = assets.find((f) => /^index-[\w-]+\.js$/.test(f));
  assert.ok(worker && worklet && entry, `dist/assets holds ${JSON.stringify(assets)}`);
  const code = readFileSync(join(APP, 'dist', 'assets', entry), 'utf8');
  // The worker's URL sits in the chunk of supervisor.js (shared with the lane's chunk), which the entry imports.
  const starter = assets.find((f) => f.endsWith('.js') && f !== worker && readFileSync(join(APP, 'dist', 'assets', f), 'utf8').includes(`/assets/${worker}`));
  assert.ok(starter === entry || code.includes(`./${starter}`), `the app refers to the emitted worker from its entry or a chunk the entry imports (${starter})`);
  // startAudio imports audio.js on its first call: the worklet's URL sits in that chunk.
  const chunks = assets.filter((f) => f.endsWith('.js') && f !== worklet).map((f) => readFileSync(join(APP, 'dist', 'assets', f), 'utf8'));
  assert.ok(!code.includes(`/assets/${worklet}`) && chunks.some((c) => c.includes(`/assets/${worklet}`)), 'a chunk loaded on demand refers to the emitted worklet');
  assert.doesNotMatch(readFileSync(join(APP, 'dist', 'assets', worklet), 'utf8'), /^\s*import\s/m);
});

test('without a bundler: the installed package next to a guest found from new URL(\'./wasm/\', import.meta.url), or with workerUrl', async () => {
  const site = makeSite('npm-unbundled', { 'app/wasm': bundle('test-guest') }, {
    'app/main.js': `import { createPool } from '../pkg/wasmbridge.js';
export async function run(options = {}) {
  const pool = await createPool({ bundle: new URL('./wasm/', import.meta.url), size: 2, ...options });
  try {
    return { sum: await pool.api.add(2, 3), isolated: pool.isolated };
  } finally {
    pool.close();
  }
}
`,
  });
  cpSync(join(APP, 'node_modules', 'wasmbridge'), join(site, 'pkg'), { recursive: true });
  const server = await startServer(site);
  try {
    const probe = async (options) => {
      const { page, close } = await import('./harness.mjs').then((h) => h.openPage(browser, server.url));
      try {
        const workers = [];
        page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
        const result = await page.evaluate(async (o) => (await import('/app/main.js')).run(o), options);
        return { ...result, workers };
      } finally {
        await close();
      }
    };
    const plain = await probe({});
    assert.deepEqual([plain.sum, plain.isolated], [5, true]);
    // On this isolated page the bundle's threaded module runs: each pool
    // worker starts thread workers from the thread-worker.js next to it.
    const threads = (ws) => ws.filter((p) => p.endsWith('/thread-worker.js'));
    const pool = (ws) => ws.filter((p) => !p.endsWith('/thread-worker.js'));
    assert.deepEqual(pool(plain.workers), ['/pkg/worker.js', '/pkg/worker.js'], 'workers run the worker.js next to pool.js');
    assert.ok(threads(plain.workers).length >= 2 && threads(plain.workers).every((p) => p === '/pkg/thread-worker.js'), plain.workers.join(', '));
    const custom = await probe({ workerUrl: '/app/wasm/worker.js' });
    assert.equal(custom.sum, 5);
    assert.deepEqual(pool(custom.workers), ['/app/wasm/worker.js', '/app/wasm/worker.js'], 'workerUrl replaces the default');
    assert.ok(threads(custom.workers).every((p) => p === '/app/wasm/thread-worker.js'), custom.workers.join(', '));
    const string = await runInPage(browser, server.url, async () => {
      const { createPool } = await import('/pkg/wasmbridge.js');
      const pool = await createPool({ bundle: '/app/wasm/', size: 1 });
      const sum = await pool.call('add', 20, 22);
      pool.close();
      return sum;
    });
    assert.equal(string, 42);
    // The package has no guest next to it: without a bundle option the error says what to pass.
    const missing = await runInPage(browser, server.url, async () => {
      const { createPool } = await import('/pkg/wasmbridge.js');
      try {
        await createPool({ size: 1 });
        return null;
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    }, undefined, /404/);
    assert.equal(missing?.code, 'INIT_FAILED');
    assert.match(missing.message, /\/pkg\/manifest\.json failed: 404.*without a bundle option .* createPool\(\{ bundle: '\/wasm\/' \}\)/);
  } finally {
    await server.close();
  }
});
