// The page half of bench/callpath/run.mjs: a raw postMessage echo client and
// one pool per bundle in `kinds`, measured round by round in alternating order.
function rawClient() {
  const worker = new Worker('./echo-worker.js');
  const pending = new Map();
  let next = 1;
  worker.onmessage = (e) => { const r = e.data; const p = pending.get(r.id); pending.delete(r.id); p(r.r); };
  return { add: (a, b) => new Promise((resolve) => { const id = next++; pending.set(id, resolve); worker.postMessage({ id, a, b }); }), close: () => worker.terminate() };
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
export async function run({ kinds, section, rounds, withRaw = true, keepOpen = false, n, chunk, options = {}, optionsFor = {} }) {
  const raw = rawClient();
  const contenders = withRaw ? { raw } : {};
  const pools = {};
  for (const k of kinds) {
    const { createPool } = await import(`/${k}/wasmbridge.js`);
    pools[k] = await createPool({ size: 1, bundle: `/${k}/`, ...options, ...optionsFor[k] });
    contenders[k] = pools[k];
  }
  await raw.add(1, 2);
  const names = Object.keys(contenders);
  const out = Object.fromEntries(names.map((k) => [k, []]));
  const one = (name) => (name === 'raw' ? (i) => raw.add(i, 1) : (i) => contenders[name].call('add', i, 1));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const f = one(name);
      if (section === 'latency') {
        for (let i = 0; i < 200; i++) await f(i);
        const per = [];
        for (let b = 0; b < n / chunk; b++) {
          const t = performance.now();
          for (let i = 0; i < chunk; i++) await f(i);
          per.push(((performance.now() - t) / chunk) * 1000);
        }
        out[name].push(median(per));
      } else {
        const t = performance.now();
        const ps = new Array(n);
        for (let i = 0; i < n; i++) ps[i] = f(i);
        const rs = await Promise.all(ps);
        const dt = performance.now() - t;
        if (rs[n - 1] !== n) throw new Error(`${name}: wrong result ${rs[n - 1]}`);
        out[name].push(n / (dt / 1000));
      }
    }
  }
  const close = () => { for (const p of Object.values(pools)) p.close(); raw.close(); };
  // A profiled run ends its workers only once their profiles are in (run.mjs calls closeAll).
  if (keepOpen) globalThis.closeAll = close;
  else close();
  return out;
}
