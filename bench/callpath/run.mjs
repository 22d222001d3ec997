// The call path's two figures outside `cargo xtask bench`, in one page with
// the contenders interleaved round by round (issue 14): the sequential round
// trip of `pool.call('add', i, 1)` and 100 000 concurrent calls, each against a
// raw postMessage echo worker (bench/site/echo-worker.js, one message per
// call), for one or more bundles of the test guest (say, one built by the
// runtime before a change and one after).
//
//   node bench/callpath/run.mjs latency|throughput [--pin] [--rounds N] [--profile FILE] [--no-raw] [--options JSON] [--options-for NAME JSON]... NAME=BUNDLE_DIR...
//
// --options passes createPool options to every bundle's pool (say, a pool
// `timeout`, which gives every call a deadline). --options-for adds options
// for one NAME only, so one bundle given under two names compares two
// settings in the same rounds (say, `windowBytes`).
//
// --profile records the page's main thread with Chromium's CPU profiler (the
// CDP Profiler domain) for the whole run, writes it to FILE (a .cpuprofile
// that Chromium's developer tools open) and prints the functions with the
// most self time, by file, so each bundle's runtime shows apart. Every worker
// the page starts is recorded too (reached through the page's session with
// Target.sendMessageToTarget), into FILE.workers.cpuprofile, all workers'
// samples summed. --no-raw
// leaves the raw echo out (then the profile holds only the bundles' calls).
//
// --pin runs Chromium under `taskset -c 0`: on 2 cores a postMessage round
// trip otherwise jumps between two regimes (toolchain notes), so pin for the
// latency figure. It serves a site under target/callbench with the real
// `wasmbridge serve` (WASMBRIDGE_BIN, default target/debug/wasmbridge).

import { cpSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const OUT = join(REPO, 'target', 'callbench');
const arg = (k, d) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1] : d; };
const section = process.argv[2];
if (section !== 'latency' && section !== 'throughput') {
  console.error('usage: node bench/callpath/run.mjs latency|throughput [--pin] [--rounds N] [--profile FILE] [--no-raw] [--options JSON] [--options-for NAME JSON]... NAME=BUNDLE_DIR...');
  process.exit(2);
}
// Every argument after a flag that takes values is that flag's, not a bundle.
const VALUES = { '--rounds': 1, '--profile': 1, '--options': 1, '--options-for': 2 };
const bundles = [];
/** @type {Record<string, object>} */
const optionsFor = {};
for (let i = 3; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--options-for') optionsFor[process.argv[i + 1]] = JSON.parse(process.argv[i + 2]);
  if (a in VALUES) i += VALUES[a];
  else if (a.includes('=')) bundles.push([a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]);
}
for (const name of Object.keys(optionsFor)) {
  if (!bundles.some(([n]) => n === name)) {
    console.error(`--options-for names ${name}, which is not one of the bundles`);
    process.exit(2);
  }
}
const pin = process.argv.includes('--pin');
const rounds = Number(arg('--rounds', 5));
const profileFile = arg('--profile', null);
const withRaw = !process.argv.includes('--no-raw');
const options = JSON.parse(arg('--options', '{}'));

const site = join(OUT, 'site');
rmSync(site, { recursive: true, force: true });
mkdirSync(site, { recursive: true });
writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><title>call path</title><link rel="icon" href="data:,"><body></body>\n');
cpSync(join(HERE, 'page.js'), join(site, 'page.js'));
cpSync(join(REPO, 'bench', 'site', 'echo-worker.js'), join(site, 'echo-worker.js'));
for (const [name, dir] of bundles) cpSync(resolve(dir), join(site, name), { recursive: true });
if (pin) {
  const wrapper = join(OUT, 'chromium-pinned');
  writeFileSync(wrapper, `#!/bin/sh\nexec taskset -c 0 ${process.env.CHROMIUM ?? '/usr/bin/chromium'} "$@"\n`);
  chmodSync(wrapper, 0o755);
  process.env.CHROMIUM = wrapper;
}

const { startServer, launchBrowser } = await import(join(REPO, 'js', 'test', 'harness.mjs'));
const server = await startServer(site);
const browser = await launchBrowser();
const load0 = loadavg()[0];
try {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.message));
  await page.goto(server.url);
  const cdp = profileFile ? await page.context().newCDPSession(page) : null;
  const workers = cdp ? await profileWorkers(await browser.newBrowserCDPSession()) : null;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  const opts = section === 'latency' ? { n: 2000, chunk: 100 } : { n: 100000, chunk: 0 };
  const kinds = bundles.map(([name]) => name);
  const r = await page.evaluate(async (a) => (await import('/page.js')).run(a), { kinds, section, rounds, withRaw, keepOpen: cdp !== null, options, optionsFor, ...opts });
  if (cdp) {
    summarizeProfile([(await cdp.send('Profiler.stop')).profile], profileFile, 'page');
    summarizeProfile(await workers.stop(), `${profileFile}.workers.cpuprofile`, 'workers');
    await page.evaluate(() => globalThis.closeAll());
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const digits = section === 'latency' ? 1 : 0;
  const unit = section === 'latency' ? 'µs per call' : 'calls/s';
  console.log(`${new Date().toISOString()} ${section}, ${pin ? 'pinned to cpu 0' : 'unpinned'}, ${rounds} rounds, options ${JSON.stringify(options)}${Object.keys(optionsFor).length > 0 ? `, for ${JSON.stringify(optionsFor)}` : ''}, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
  for (const [k, xs] of Object.entries(r)) {
    console.log(`${k.padEnd(10)} median ${med(xs).toFixed(digits)} ${unit} [${xs.map((x) => x.toFixed(digits)).join(', ')}] ${r.raw ? `${(med(xs) / med(r.raw)).toFixed(2)}× raw` : ''}`);
  }
} finally {
  await browser.close();
  await server.close();
}

/**
 * Starts the CPU profiler in every worker the page starts from now on: a
 * browser session looks for new worker targets every 50 ms and attaches to
 * each (not flattened, so its commands go through this session);
 * `stop()` resolves with their profiles.
 */
async function profileWorkers(cdp) {
  let next = 1;
  const replies = new Map();
  const sessions = [];
  const send = (sessionId, method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    replies.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const m = JSON.parse(message);
    const reply = replies.get(m.id);
    if (!reply) return;
    replies.delete(m.id);
    if (m.error) reply.reject(new Error(m.error.message));
    else reply.resolve(m.result);
  });
  const seen = new Set();
  const look = async () => {
    const { targetInfos } = await cdp.send('Target.getTargets');
    for (const t of targetInfos) {
      if (t.type !== 'worker' || seen.has(t.targetId)) continue;
      seen.add(t.targetId);
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false });
      sessions.push(sessionId);
      await send(sessionId, 'Profiler.enable');
      await send(sessionId, 'Profiler.setSamplingInterval', { interval: 100 });
      await send(sessionId, 'Profiler.start');
    }
  };
  const timer = setInterval(() => look().catch(() => {}), 50);
  // A worker that ended (its pool closed) has no profile to give.
  return {
    stop: async () => {
      clearInterval(timer);
      return (await Promise.all(sessions.map((id) => send(id, 'Profiler.stop').then((r) => r.profile, () => null)))).filter(Boolean);
    },
  };
}

/** Writes the profiles and prints the 25 functions with the most self time over all of them (ms and share of the samples). */
function summarizeProfile(profiles, file, what) {
  writeFileSync(file, JSON.stringify(profiles.length === 1 ? profiles[0] : profiles));
  const self = new Map();
  let total = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const dt = profile.timeDeltas;
    for (let i = 0; i < profile.samples.length; i++) {
      const { callFrame: f } = byId.get(profile.samples[i]);
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/\/[^/]+/, '')}:${f.lineNumber + 1}`;
      const ms = (dt[i] ?? 0) / 1000;
      self.set(key, (self.get(key) ?? 0) + ms);
      total += ms;
    }
  }
  console.log(`profile of the ${what} (${profiles.length}): ${file}, ${total.toFixed(0)} ms sampled; most self time:`);
  for (const [k, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${k}`);
  }
}
