// The Godot round trip: GDScript `await WasmBridge.call("add", [i, 1])` in a
// real Godot 4.6 web engine (single-threaded export), through
// crates/wasmbridge/runtime/godot.js and the addon, against the same page's
// `pool.call("add", i, 1)` in interleaved rounds (bench/godot/bench.gd), using
// the engine set-up of the Godot tests (js/test/godot/). The addon's cost is
// the difference of the two p50s, round by round.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEngine, makeRunnerSite, runGodot } from '../js/test/godot/engine.mjs';
import { startServer } from '../js/test/harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

export async function godotRoundTrip({ browser, log, stats, out, bundleDir = join(out, 'site', 'plain') }) {
  const site = makeRunnerSite(join(out, 'godot-site'), { engineDir: ensureEngine(), bundleDir });
  mkdirSync(join(site, 'scripts'), { recursive: true });
  copyFileSync(join(HERE, 'godot', 'bench.gd'), join(site, 'scripts', 'bench.gd'));
  const server = await startServer(site);
  // Uncompressed responses: compressing the 37 MB engine is not what is measured.
  const context = await browser.newContext({ extraHTTPHeaders: { 'accept-encoding': 'identity' } });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}index.html?script=scripts/bench.gd`);
    const { exit, lines } = await runGodot(page, { timeout: 180_000 });
    const line = lines.find((l) => l.startsWith('BENCH '));
    const res = line ? JSON.parse(line.slice(6)) : null;
    if (exit !== 0 || !res?.rounds || !res?.pool) {
      return { error: `the Godot bench exited with ${exit}: ${res?.error ?? lines.slice(-5).join(' | ')} ${errors.join('; ')}`.trim() };
    }
    const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
    const gdP50 = res.rounds.map((r) => pct(r, 0.5));
    const poolP50 = res.pool.map((r) => pct(r, 0.5));
    const out2 = {
      rounds: res.rounds.length,
      calls: res.rounds[0].length,
      p50: stats(gdP50),
      p90: stats(res.rounds.map((r) => pct(r, 0.9))),
      p99: stats(res.rounds.map((r) => pct(r, 0.99))),
      poolP50: stats(poolP50),
      poolP99: stats(res.pool.map((r) => pct(r, 0.99))),
      overheadP50: stats(gdP50.map((g, i) => g - poolP50[i])),
      samples: res.rounds.flat(),
      note: 'GDScript → JavaScriptBridge → window.WasmBridge → pool.call → worker, and back through a JavaScriptBridge callback and a signal; pool.call rounds run in the same page between the GDScript rounds (performance.now ticks in 5 µs steps there).',
    };
    log(`   Godot round trip p50 ${out2.p50.median} µs (${out2.p50.min}–${out2.p50.max}), p99 ${out2.p99.median} µs; same page pool.call p50 ${out2.poolP50.median} µs; GDScript − pool.call p50 ${out2.overheadP50.median} µs (${out2.overheadP50.min}–${out2.overheadP50.max})`);
    return out2;
  } finally {
    await context.close();
    await server.close();
  }
}
