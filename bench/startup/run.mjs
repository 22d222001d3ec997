// Start-up outside `cargo xtask bench` (issue 14): page script start → first
// result of add(1, 2), for a bare module worker that answers one message and
// for one or more bundles of a guest with `add` (the demo or test guest; say,
// one built by the runtime before a change and one after), contenders
// interleaved round by round. Each round opens a fresh browser context (empty
// HTTP cache: "fresh") and then reloads the page in it ("reload").
//
//   node bench/startup/run.mjs [--rounds N] [--options JSON] [--trace] [--phases] NAME=BUNDLE_DIR...
//
// Every bundle runs twice: NAME on a bare page, NAME+preload on a page with
// the README's hints (`<link rel="modulepreload">` for the bundle's
// wasmbridge.js and every module it imports statically: none once it is
// linked; and, for a runtime from before manifest.js, `<link rel="preload"
// as="fetch">` for the manifest).
// --options passes createPool options to every bundle. --trace prints, for the
// last round of each contender, every request the page and its workers made
// (ms after script start, start → end, from the page's resource timing).
// --phases prints, per contender, the median time (ms after script start) at
// which each step was first reached: the runtime imported, `new Worker`, the
// first message from a worker, the module's response and its compilation
// (wrapping Worker and WebAssembly.compileStreaming in the page), the pool
// ready; the wrappers run in every contender's page, the bare one's too. It
// serves a site under target/startbench with the real `wasmbridge serve`
// (WASMBRIDGE_BIN, default target/debug/wasmbridge).

import { cpSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const OUT = join(REPO, 'target', 'startbench');
const arg = (k, d) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1] : d; };
const bundles = process.argv.slice(2).filter((a) => /^[\w-]+=/.test(a)).map((a) => a.split('='));
const rounds = Number(arg('--rounds', 5));
const options = arg('--options', '{}');
const trace = process.argv.includes('--trace');
const withPhases = process.argv.includes('--phases');
if (bundles.length === 0) {
  console.error('usage: node bench/startup/run.mjs [--rounds N] [--options JSON] [--trace] NAME=BUNDLE_DIR...');
  process.exit(2);
}

const { startServer, launchBrowser, BIN } = await import(join(REPO, 'js', 'test', 'harness.mjs'));
const site = join(OUT, 'site');
rmSync(site, { recursive: true, force: true });
mkdirSync(site, { recursive: true });
cpSync(join(HERE, 'page.html'), join(site, 'index.html'));
cpSync(join(REPO, 'bench', 'site', 'echo-worker.js'), join(site, 'echo-worker.js'));
for (const [name, dir] of bundles) cpSync(resolve(dir), join(site, name), { recursive: true });
// NAME+preload: the same bundle, on a page whose head carries the hints the
// README suggests: the entry and every module it imports statically, and the
// manifest for a runtime that fetches it (one without manifest.js).
const page = readFileSync(join(HERE, 'page.html'), 'utf8');
for (const [name, dir] of bundles) {
  const entry = readFileSync(join(resolve(dir), 'wasmbridge.js'), 'utf8');
  const imported = [...entry.matchAll(/^(?:import\s+|(?:import|export)\b[^;'(]*?from\s+)'\.\/([\w-]+\.js)'/gm)].map((m) => m[1]);
  const modules = ['wasmbridge.js', ...new Set(imported)];
  const hints = modules.map((f) => `<link rel="modulepreload" href="./${name}/${f}">`);
  if (!modules.includes('manifest.js')) hints.push(`<link rel="preload" as="fetch" crossorigin href="./${name}/manifest.json">`);
  writeFileSync(join(site, `${name}-preload.html`), page.replace('<link rel="icon" href="data:,">', `<link rel="icon" href="data:,">\n${hints.join('\n')}`));
}
// As a deployment would (and as `cargo xtask bench` does): FILE.gz next to
// every compressible file, which `wasmbridge serve` sends instead of
// compressing on each request.
execFileSync(BIN, ['deploy', 'nginx', site, '--precompress', '--out', '-'], { stdio: ['ignore', 'ignore', 'inherit'] });

const server = await startServer(site);
const browser = await launchBrowser();
const load0 = loadavg()[0];
const impls = ['bare', ...bundles.flatMap(([name]) => [name, `${name}+preload`])];
const per = Object.fromEntries(impls.map((k) => [k, { fresh: [], reload: [] }]));
const traces = {};
/** @type {Record<string, Record<string, number>[]>} each load's phases, by "contender kind" */
const phaseTimes = {};

/** Loads the page (navigation or reload) and returns its figure and what it fetched. */
async function load(page, go) {
  await go();
  await page.waitForFunction(() => window.__startup !== undefined, null, { timeout: 30_000 });
  const s = await page.evaluate(() => window.__startup);
  if (s.error || s.value !== 3) throw new Error(`start-up failed: ${s.error ?? `add(1, 2) gave ${s.value}`}`);
  return {
    ms: s.firstResult - s.scriptStart,
    trace: s.resources.map(([path, start, end]) => `${start.toFixed(1).padStart(7)} → ${end.toFixed(1).padStart(7)}  ${path}`),
    phases: s.phases,
  };
}

try {
  for (let r = 0; r < rounds; r++) {
    for (const i of impls.keys()) {
      const impl = impls[(i + r) % impls.length];
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(impl, 'pageerror', e.message));
      const [bundleName, preload] = impl.split('+');
      const url = `${server.url}${preload ? `${bundleName}-preload.html` : ''}?impl=${bundleName}&options=${encodeURIComponent(options)}${withPhases ? '&phases' : ''}`;
      const fresh = await load(page, () => page.goto(url));
      const reload = await load(page, () => page.reload());
      per[impl].fresh.push(fresh.ms);
      per[impl].reload.push(reload.ms);
      if (withPhases) for (const [kind, r] of [['fresh', fresh], ['reload', reload]]) (phaseTimes[`${impl} ${kind}`] ??= []).push(r.phases);
      traces[impl] = { fresh: fresh.trace, reload: reload.trace };
      await context.close();
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${new Date().toISOString()} start-up, page script start → first result, ${rounds} rounds, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}, options ${options}`);
  for (const kind of ['fresh', 'reload']) {
    for (const impl of impls) {
      const xs = per[impl][kind];
      console.log(`${kind.padEnd(6)} ${impl.padEnd(10)} median ${med(xs).toFixed(1)} ms [${xs.map((x) => x.toFixed(1)).join(', ')}], ${(med(xs) / med(per.bare[kind])).toFixed(2)}× bare`);
    }
  }
  if (withPhases) {
    console.log('\nphases, median ms after script start (each load\'s own; a step some loads lack is left out):');
    for (const [key, loads] of Object.entries(phaseTimes)) {
      const steps = [...new Set(loads.flatMap((l) => Object.keys(l)))].filter((k) => loads.every((l) => k in l));
      const line = steps.map((k) => ({ k, v: med(loads.map((l) => l[k])) })).sort((a, b) => a.v - b.v).map(({ k, v }) => `${k} ${v.toFixed(1)}`);
      console.log(`${key.padEnd(20)} ${line.join(' | ')}`);
    }
  }
  if (trace) {
    for (const impl of impls) {
      for (const kind of ['fresh', 'reload']) console.log(`\n${impl}, ${kind} (ms after script start):\n${traces[impl][kind].join('\n')}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
