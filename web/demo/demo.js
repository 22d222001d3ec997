// The demo page: one pool of workers running the demo guest, and one setup
// function per section of the page. Every number, image and error shown here
// came back from Rust through `pool.call`.

import { createPool, startAudio } from './wasmbridge/wasmbridge.js';

/** Recent call latencies (ms) kept for the dashboard's histogram. */
const RECENT_CALLS = 200;
/** A semiprime of two primes just below 2³²: trial division needs ~2³¹ steps, seconds of work. */
const SLOW_SEMIPRIME = '18446743979220271189';
/** Numbers longer than this are shown folded in the middle. */
const FOLD_DIGITS = 120;
/** Uploaded images are scaled down to this many pixels on the long side, to keep filters interactive. */
const MAX_IMAGE_SIDE = 1600;

const $ = (selector) => /** @type {HTMLElement} */ (document.querySelector(selector));

// ---- small helpers ----

/**
 * Creates an element. `props` sets attributes, except `class`, `dataset`,
 * `text` and `on*` listeners; children may be strings, nodes or arrays.
 * @returns {HTMLElement}
 */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** "312 µs", "4.20 ms", "1.35 s". */
function formatDuration(ms) {
  if (ms < 1) return `${Math.max(1, Math.round(ms * 1000))} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** "CODE: message" for a WasmBridgeError; anything else thrown is a bug in this page, shown as is. */
function describeError(err) {
  return err && typeof err === 'object' && 'code' in err ? `${err.code}: ${err.message}` : String(err);
}

/** Fills `el` with an error whose code stands out. */
function showError(el, err) {
  if (err && typeof err === 'object' && 'code' in err) {
    el.replaceChildren(h('span', { class: 'code', text: `${err.code}:` }), ` ${err.message}`);
  } else {
    el.textContent = err instanceof Error ? err.message : String(err);
  }
}

/** A new error paragraph. */
function errorNode(err) {
  const p = h('p', { class: 'error' });
  showError(p, err);
  return p;
}

// ---- timing every call, for the dashboard ----

const latencies = { recent: /** @type {number[]} */ ([]), last: /** @type {null | { fn: string, ms: number }} */ (null), version: 0 };

function recordLatency(fn, ms) {
  latencies.recent.push(ms);
  if (latencies.recent.length > RECENT_CALLS) latencies.recent.shift();
  latencies.last = { fn, ms };
  latencies.version += 1;
}

/**
 * `pool.call(spec)`, timed from the page: resolves with `{ value, ms }`; a
 * rejection carries `ms` too. The time includes the trip to the worker and
 * back, which is what a page actually waits for.
 * @param {import('./wasmbridge/wasmbridge.d.ts').Pool} pool
 * @param {import('./wasmbridge/wasmbridge.d.ts').CallOptions} spec
 */
async function timed(pool, spec) {
  const t0 = performance.now();
  try {
    const value = await pool.call(spec);
    const ms = performance.now() - t0;
    recordLatency(spec.fn, ms);
    return { value, ms };
  } catch (err) {
    const ms = performance.now() - t0;
    recordLatency(spec.fn, ms);
    if (err && typeof err === 'object') err.ms = ms;
    throw err;
  }
}

/**
 * Numbers the requests of one control so only the newest one's answer is
 * shown: answers from a pool of workers can arrive out of order.
 */
function latestOnly() {
  let current = 0;
  return () => {
    const mine = ++current;
    return () => mine === current;
  };
}

// ---- availability ----

/** Names in `names` the guest does not export. */
function missingFunctions(pool, names) {
  const have = new Set(pool.functions.map((f) => f.name));
  return names.filter((n) => !have.has(n));
}

/**
 * Greys out every section or control whose `data-needs` functions are not in
 * this guest, so a guest built from an older compute crate still gives a
 * usable page.
 */
function markMissing(pool) {
  for (const el of document.querySelectorAll('[data-needs]')) {
    const missing = missingFunctions(pool, el.dataset.needs.split(/\s+/));
    if (missing.length === 0) continue;
    const note = `not in this guest: ${missing.join(', ')}`;
    if (el.classList.contains('card')) {
      // Grey out a whole card only when none of its functions exist; partial gaps are marked on their controls.
      const all = el.dataset.needs.split(/\s+/);
      if (missing.length < all.length) continue;
      el.classList.add('missing');
      el.querySelector('.card-head')?.append(h('span', { class: 'missing-note', text: note }));
    } else if (el.matches('button')) {
      el.disabled = true;
      el.title = note;
    } else {
      for (const control of el.querySelectorAll('button, input, select')) {
        control.disabled = true;
        control.title = note;
      }
      // Inside a card that already says what is missing, one note is enough.
      if (!el.closest('.card.missing')) el.after(h('p', { class: 'missing-note', text: note }));
    }
  }
}

// ---- 1. loading ----

/**
 * Drives the header's progress bar while the module downloads and the
 * workers start; `ready` swaps it for the pool's badges.
 */
function loadingState(size) {
  const box = $('#load');
  const bar = $('#load-progress');
  const fill = $('#load-fill');
  const status = $('#load-status');
  return {
    progress(loaded, total) {
      if (total > 0) {
        const pct = Math.min(100, Math.round((loaded / total) * 100));
        fill.style.width = `${pct}%`;
        bar.setAttribute('aria-valuenow', String(pct));
        status.textContent = `Loading the module… ${pct}% of ${formatBytes(total)}`;
      } else {
        status.textContent = `Loading the module… ${formatBytes(loaded)}`;
      }
      if (total > 0 && loaded >= total) {
        box.dataset.state = 'starting';
        status.textContent = `Compiled; starting ${size} workers…`;
      }
    },
    ready(pool) {
      const workers = pool.stats().workers.filter((w) => w.state === 'ready').length;
      box.dataset.state = 'ready';
      bar.setAttribute('aria-valuenow', '100');
      $('#badges').hidden = false;
      const poolBadge = $('#pool-status');
      poolBadge.textContent = `${workers} worker${workers === 1 ? '' : 's'} ready`;
      poolBadge.classList.add('ok');
      const iso = $('#isolation-status');
      iso.textContent = pool.isolated ? 'cross-origin isolated' : 'not isolated: no cooperative cancel';
      iso.classList.add(pool.isolated ? 'ok' : 'warn');
      document.querySelector('main')?.removeAttribute('inert');
    },
    fail(err) {
      box.dataset.state = 'failed';
      status.textContent = `The pool could not start. ${describeError(err)}`;
    },
  };
}

// ---- 2. calculator ----

/** Entries kept in the calculator's "Recent" list. */
const CALC_HISTORY = 5;

/** Four operations on two f64s; errors (division by zero, empty inputs) come back as typed errors. */
function setupCalculator(pool) {
  const a = /** @type {HTMLInputElement} */ ($('#calc-a'));
  const b = /** @type {HTMLInputElement} */ ($('#calc-b'));
  const result = $('#calc-result');
  const error = $('#calc-error');
  const history = $('#calc-history');
  const next = latestOnly();
  const remember = (expr, ms, failed) => {
    history.prepend(h('li', { class: failed ? 'failed' : '' }, h('span', { class: 'expr', text: expr }), h('span', { class: 'took', text: formatDuration(ms) })));
    while (history.children.length > CALC_HISTORY) history.lastElementChild?.remove();
  };
  // Negative operands in parentheses, so "7 − −2" reads as "7 − (−2)".
  const operand = (x) => (x < 0 || Object.is(x, -0) ? `(${x})` : String(x));

  for (const button of document.querySelectorAll('#calc .op')) {
    button.addEventListener('click', async () => {
      const isLatest = next();
      // valueAsNumber is NaN for an empty box: the guest reports that as BAD_ARGUMENT.
      const x = a.valueAsNumber;
      const y = b.valueAsNumber;
      const expr = `${operand(x)} ${button.dataset.sign} ${operand(y)}`;
      try {
        const { value, ms } = await timed(pool, { fn: button.dataset.fn, args: [x, y] });
        remember(`${expr} = ${value}`, ms, false);
        if (!isLatest()) return;
        error.textContent = '';
        result.textContent = `${expr} = ${value}`;
      } catch (err) {
        remember(`${expr}: ${err.code ?? 'ERROR'}`, err.ms ?? 0, true);
        if (!isLatest()) return;
        result.textContent = '';
        showError(error, err);
      }
    });
  }

  $('#calc-clear').addEventListener('click', () => {
    next();
    a.value = '';
    b.value = '';
    result.textContent = '';
    error.textContent = '';
    a.focus();
  });
}

// ---- 3. big numbers ----

/** The digits of `value`, folded in the middle when long, with a toggle to show them all. */
function foldedDigits(value) {
  const box = h('div', { class: 'digits' });
  const fold = () => {
    const hidden = value.length - FOLD_DIGITS;
    box.replaceChildren(
      value.slice(0, FOLD_DIGITS / 2),
      h('span', { class: 'fold', text: `… ${hidden.toLocaleString('en')} more digits …` }),
      value.slice(-FOLD_DIGITS / 2),
    );
  };
  if (value.length > FOLD_DIGITS) fold();
  else box.textContent = value;
  let expanded = false;
  const toggle = value.length > FOLD_DIGITS
    ? h('button', {
      type: 'button', class: 'link', text: 'Show all',
      onclick: (e) => {
        expanded = !expanded;
        if (expanded) box.textContent = value;
        else fold();
        e.currentTarget.textContent = expanded ? 'Fold' : 'Show all';
      },
    })
    : null;
  return { box, toggle };
}

function copyButton(text) {
  return h('button', {
    type: 'button', class: 'link', text: 'Copy',
    onclick: async (e) => {
      const button = e.currentTarget;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        // Clipboard access needs focus and permission; say so instead of failing silently.
        button.textContent = 'Copy blocked by the browser';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    },
  });
}

/** Groups equal factors: ["2","2","3"] → [["2",2],["3",1]] (the guest returns them ascending). */
function groupFactors(factors) {
  const groups = [];
  for (const f of factors) {
    const last = groups[groups.length - 1];
    if (last && last[0] === f) last[1] += 1;
    else groups.push([f, 1]);
  }
  return groups;
}

/**
 * Wires a "type a value, press a button" form: the button is disabled while
 * its call runs, and `render(value, ms)` fills the output.
 */
function runForm(form, button, out, run) {
  const next = latestOnly();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const isLatest = next();
    button.disabled = true;
    out.setAttribute('aria-busy', 'true');
    try {
      const node = await run();
      if (isLatest()) out.replaceChildren(node);
    } catch (err) {
      if (isLatest()) out.replaceChildren(errorNode(err), err.ms !== undefined ? h('p', { class: 'meta', text: `answered in ${formatDuration(err.ms)}` }) : null);
    } finally {
      button.disabled = false;
      out.removeAttribute('aria-busy');
    }
  });
}

/** Fibonacci (exact, any size) and factorisation of 64-bit numbers sent as decimal strings. */
function setupBigNumbers(pool) {
  const fibN = /** @type {HTMLInputElement} */ ($('#fib-n'));
  runForm($('#fib-form'), $('#fib-run'), $('#fib-out'), async () => {
    const n = fibN.valueAsNumber;
    const { value, ms } = await timed(pool, { fn: 'fibonacci', args: [n] });
    const { box, toggle } = foldedDigits(value);
    return h('div', {},
      h('div', { class: 'meta' },
        h('span', {}, h('strong', { text: `F(${n})` }), ' has ', h('strong', { text: value.length.toLocaleString('en') }), ` digit${value.length === 1 ? '' : 's'}`),
        h('span', { class: 'times', text: `in ${formatDuration(ms)}` }),
        toggle,
        copyButton(value)),
      box);
  });

  const facN = /** @type {HTMLInputElement} */ ($('#fac-n'));
  runForm($('#fac-form'), $('#fac-run'), $('#fac-out'), async () => {
    // Sent as a string: a JS number is exact only up to 2⁵³, the guest takes any u64.
    const n = facN.value.trim();
    const { value, ms } = await timed(pool, { fn: 'factorize', args: [n] });
    const groups = groupFactors(value);
    const prime = value.length === 1 && groups[0][1] === 1;
    const chips = [];
    groups.forEach(([f, power], i) => {
      if (i > 0) chips.push(h('span', { class: 'times', text: '×' }));
      chips.push(h('span', { class: 'factor' }, f, power > 1 ? h('sup', { text: String(power) }) : null));
    });
    return h('div', {},
      h('div', { class: 'factors' }, value.length === 0 ? h('span', { class: 'muted', text: '1 has no prime factors' }) : chips),
      h('div', { class: 'meta' },
        prime ? h('span', { class: 'prime-tag', text: 'prime' }) : h('span', { text: `${value.length} prime factor${value.length === 1 ? '' : 's'}` }),
        h('span', { class: 'times', text: `in ${formatDuration(ms)}` })));
  });

  // Show an answer for the defaults straight away; both are quick.
  for (const form of ['#fib-form', '#fac-form']) {
    if (!$(`${form} button`).disabled) /** @type {HTMLFormElement} */ ($(form)).requestSubmit();
  }
}

// ---- matrices ----

/** A seeded xorshift32: each call returns the next unsigned 32-bit value. */
function xorshift(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

/** `n×n` f32 values from a seeded xorshift, in [-1, 1). */
function randomMatrix(n, seed) {
  const next = xorshift(seed);
  return Float32Array.from({ length: n * n }, () => next() / 2 ** 31 - 1);
}

/** "12.3 GFLOP/s" for an n×n product in `ms`. */
function gflops(n, ms) {
  return `${((2 * n ** 3) / (ms * 1e6)).toFixed(1)} GFLOP/s`;
}

/**
 * `matmul` with the matrices moved to a worker and the product moved back,
 * then, on a pool that runs the threaded module, `matmulShared` over three
 * regions in the guest's memory (written once, outside the timing), which
 * runs on every thread of the worker without copying a matrix. Both
 * products must be the same bits.
 */
function setupMatrices(pool) {
  /** Regions of the last n, kept: making them is the one copy. */
  let regions = null;
  runForm($('#mm-form'), $('#mm-run'), $('#mm-out'), async () => {
    const n = Number(/** @type {HTMLSelectElement} */ ($('#mm-n')).value);
    const a = randomMatrix(n, 1);
    const b = randomMatrix(n, 2);
    const moved = await timed(pool, { fn: 'matmul', args: [a.slice(), b.slice(), n, n, n], transfer: 'auto' });
    const product = /** @type {Float32Array} */ (moved.value);
    const module = pool.stats().module ?? { kind: 'plain', threads: 0, reason: 'the pool has not loaded its module yet' };
    const rows = [h('div', { class: 'meta' },
      h('span', {}, h('strong', { text: 'Moved to a worker' }), ` ${n}×${n}`),
      h('span', { class: 'times', text: `${formatDuration(moved.ms)}, ${gflops(n, moved.ms)}` }))];
    const hasShared = missingFunctions(pool, ['matmulShared']).length === 0;
    if (module.kind === 'threaded' && hasShared) {
      if (regions?.n !== n) {
        for (const r of regions?.all ?? []) r.close();
        const all = [pool.shared(n * n * 4), pool.shared(n * n * 4), pool.shared(n * n * 4)];
        regions = { n, all };
      }
      const [ra, rb, rc] = regions.all;
      const f32 = (r) => new Float32Array(r.bytes.buffer, r.bytes.byteOffset, n * n);
      f32(ra).set(a);
      f32(rb).set(b);
      const shared = await timed(pool, { fn: 'matmulShared', args: [ra, rb, n, n, n, rc] });
      const c = f32(rc);
      const same = c.every((x, i) => Object.is(x, product[i]));
      rows.push(h('div', { class: 'meta' },
        h('span', {}, h('strong', { text: 'Shared regions' }), ` on ${module.threads} thread${module.threads === 1 ? '' : 's'}`),
        h('span', { class: 'times', text: `${formatDuration(shared.ms)}, ${gflops(n, shared.ms)}` })));
      rows.push(h('p', { class: same ? 'meta' : 'error', text: same ? 'Both products are the same bits.' : 'The two products differ.' }));
    } else {
      const why = hasShared ? `this pool runs the plain module (${module.reason})` : 'this guest has no matmulShared';
      rows.push(h('p', { class: 'muted', text: `Not over shared regions: ${why}.` }));
    }
    const corner = Array.from({ length: Math.min(3, n) }, (_, i) => Array.from({ length: Math.min(3, n) }, (_, j) => product[i * n + j].toFixed(3)).join('  '));
    rows.push(h('pre', { class: 'corner mono', text: `C[0..3][0..3]\n${corner.join('\n')}` }));
    return h('div', {}, rows);
  });
}

// ---- chart data ----

/**
 * `n` samples of a slow wave with noise and a few spikes: what a sensor
 * log looks like, and what downsampling must not flatten.
 */
function noisySignal(n, seed) {
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const next = xorshift(seed);
  for (let i = 0; i < n; i++) {
    const x = next();
    const noise = x / 2 ** 32 - 0.5;
    const spike = (x & 0xfff) === 7 ? 4 : 0;
    xs[i] = i;
    ys[i] = Math.sin((i / n) * 6 * Math.PI) * 2 + noise + spike;
  }
  return { xs, ys };
}

/** The canvas sized to its CSS box at the device's pixel ratio, cleared, with its CSS size. */
function sizedContext(canvas, fallbackHeight) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 480;
  const height = canvas.clientHeight || fallbackHeight;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** Draws `[x0, y0, x1, y1, …]` as a line filling the canvas. */
function drawLine(canvas, points) {
  const { ctx, width, height } = sizedContext(canvas, 140);
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    minX = Math.min(minX, points[i]); maxX = Math.max(maxX, points[i]);
    minY = Math.min(minY, points[i + 1]); maxY = Math.max(maxY, points[i + 1]);
  }
  const px = (x) => 4 + ((x - minX) / (maxX - minX || 1)) * (width - 8);
  const py = (y) => height - 4 - ((y - minY) / (maxY - minY || 1)) * (height - 8);
  ctx.strokeStyle = '#3b5bdb';
  ctx.lineWidth = 1.25;
  ctx.beginPath();
  for (let i = 0; i < points.length; i += 2) {
    if (i === 0) ctx.moveTo(px(points[i]), py(points[i + 1]));
    else ctx.lineTo(px(points[i]), py(points[i + 1]));
  }
  ctx.stroke();
}

/** Draws the bins of a histogram (`counts`) as bars. */
function drawBins(canvas, counts) {
  const { ctx, width, height } = sizedContext(canvas, 100);
  const max = Math.max(1, ...counts);
  const slot = (width - 8) / counts.length;
  ctx.fillStyle = '#8da2ee';
  counts.forEach((count, i) => {
    // A bin with a few values (the spikes) still shows.
    const barH = count > 0 ? Math.max(1, (count / max) * (height - 8)) : 0;
    ctx.fillRect(4 + i * slot + 1, height - 4 - barH, Math.max(1, slot - 2), barH);
  });
}

/** `downsample` (LTTB) to one point per pixel of the canvas and `histogram`, on a signal made here. */
function setupCharts(pool) {
  const line = /** @type {HTMLCanvasElement} */ ($('#chart-line'));
  runForm($('#chart-form'), $('#chart-run'), $('#chart-out'), async () => {
    const n = Number(/** @type {HTMLSelectElement} */ ($('#chart-points')).value);
    const { xs, ys } = noisySignal(n, 7);
    const target = Math.max(3, line.clientWidth || 480);
    const [down, hist] = await Promise.all([
      timed(pool, { fn: 'downsample', args: [xs, ys.slice(), target], transfer: 'auto' }),
      timed(pool, { fn: 'histogram', args: [ys, 40], transfer: 'auto' }),
    ]);
    const points = /** @type {Float64Array} */ (down.value);
    const bins = JSON.parse(/** @type {string} */ (hist.value));
    drawLine(line, points);
    drawBins(/** @type {HTMLCanvasElement} */ ($('#chart-hist')), bins.counts);
    const counted = bins.counts.reduce((sum, c) => sum + c, 0);
    return h('div', {},
      h('div', { class: 'meta' },
        h('span', {}, h('strong', { text: n.toLocaleString('en') }), ` points → ${(points.length / 2).toLocaleString('en')} drawn`),
        h('span', { class: 'times', text: `in ${formatDuration(down.ms)}` })),
      h('div', { class: 'meta' },
        h('span', {}, `histogram: ${bins.counts.length} bins, ${counted.toLocaleString('en')} values counted`),
        h('span', { class: 'times', text: `in ${formatDuration(hist.ms)}` })));
  });
  if (!$('#chart-run').disabled) /** @type {HTMLFormElement} */ ($('#chart-form')).requestSubmit();
}

// ---- game state ----

/** The seed's level, as its Go code shipped it. */
const SEED_LEVEL = JSON.stringify({
  player: { name: 'Hero', level: 10, health: 100, position: { x: 100, y: 200 } },
  enemies: [
    { type: 'goblin', health: 50, position: { x: 150, y: 250 } },
    { type: 'orc', health: 80, position: { x: 300, y: 400 } },
  ],
});

/** The player on the 800×600 field, drawn at the canvas's scale. */
function drawField(canvas, state) {
  const { ctx, width, height } = sizedContext(canvas, 300);
  const sx = width / 800;
  const sy = height / 600;
  ctx.strokeStyle = '#dfe3ee';
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  if (!state) return;
  ctx.fillStyle = state.gameOver ? '#c92a2a' : '#3b5bdb';
  ctx.beginPath();
  ctx.arc(Math.min(Math.max(state.x, 0), 800) * sx, Math.min(Math.max(state.y, 0), 600) * sy, 8, 0, 2 * Math.PI);
  ctx.fill();
}

/**
 * Moves through `updateGameState`: the page keeps only the JSON the guest
 * returned and sends it back with the next input, one move at a time.
 */
function setupGame(pool) {
  const field = /** @type {HTMLCanvasElement} */ ($('#game-field'));
  const out = $('#game-out');
  /** The state JSON the guest returned last; "" starts a new game. */
  let state = '';
  let moving = Promise.resolve();
  const show = (parsed, ms) => {
    drawField(field, parsed);
    out.replaceChildren(h('div', { class: 'meta' },
      h('span', {}, 'score ', h('strong', { text: String(parsed.score) }), ` at (${parsed.x}, ${parsed.y})`),
      parsed.gameOver ? h('span', { class: 'prime-tag', text: 'game over' }) : null,
      ms === undefined ? null : h('span', { class: 'times', text: `move in ${formatDuration(ms)}` })));
  };
  const move = (input) => {
    moving = moving.then(async () => {
      try {
        const { value, ms } = await timed(pool, { fn: 'updateGameState', args: [state, input] });
        state = /** @type {string} */ (value);
        show(JSON.parse(state), ms);
      } catch (err) {
        out.replaceChildren(errorNode(err));
      }
    });
    return moving;
  };
  for (const button of document.querySelectorAll('#game [data-move]')) {
    button.addEventListener('click', () => move(/** @type {HTMLElement} */ (button).dataset.move));
  }
  const keys = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
  field.addEventListener('keydown', (e) => {
    if (!(e.key in keys)) return;
    e.preventDefault();
    move(keys[e.key]);
  });
  $('#game-new').addEventListener('click', () => {
    moving = moving.then(() => {
      state = '';
      drawField(field, { x: 400, y: 300, score: 0, gameOver: false });
      out.replaceChildren(h('p', { class: 'muted', text: 'New game: the first move starts at the middle of the field.' }));
    });
  });
  drawField(field, { x: 400, y: 300, score: 0, gameOver: false });

  $('#level-run').addEventListener('click', async () => {
    const levelOut = $('#level-out');
    try {
      const { value, ms } = await timed(pool, { fn: 'processGameData', args: [SEED_LEVEL] });
      const summary = JSON.parse(/** @type {string} */ (value));
      const byType = Object.entries(summary.enemiesByType).map(([type, count]) => `${count} ${type}`).join(', ');
      const nearest = summary.nearestEnemy;
      levelOut.replaceChildren(h('div', { class: 'meta' },
        h('span', {}, h('strong', { text: summary.player.name }), ` level ${summary.player.level}: ${summary.enemyCount} enemies (${byType}), ${summary.totalEnemyHealth} health in all`),
        nearest ? h('span', { text: `nearest: the ${nearest.type} at ${nearest.distance.toFixed(1)}` }) : null,
        h('span', { class: 'times', text: `in ${formatDuration(ms)}` })));
    } catch (err) {
      levelOut.replaceChildren(errorNode(err));
    }
  });
}

// ---- 4. image playground ----// ---- 4. image playground ----// ---- 4. image playground ----

/**
 * Filters, their parameters and how the dedicated function takes them.
 * `params` are in the order of the function's arguments after (data, w, h);
 * `filterBand` gets the same values as a JSON object.
 */
const FILTERS = {
  grayscale: { label: 'grayscale', params: [{ key: 'standard', choice: '#img-standard' }] },
  gaussianBlur: { label: 'Gaussian blur', params: [{ key: 'sigma', label: 'Sigma (px)', min: 0, max: 20, step: 0.5, value: 4 }] },
  boxBlur: { label: 'box blur', params: [{ key: 'radius', label: 'Radius (px)', min: 0, max: 40, step: 1, value: 6 }] },
  sharpen: { label: 'sharpen', params: [{ key: 'amount', label: 'Amount', min: 0, max: 8, step: 0.1, value: 2 }] },
  invert: { label: 'invert', params: [] },
  brightnessContrast: {
    label: 'brightness / contrast',
    params: [
      { key: 'brightness', label: 'Brightness', min: -1, max: 1, step: 0.05, value: 0.1 },
      { key: 'contrast', label: 'Contrast', min: -1, max: 1, step: 0.05, value: 0.35 },
    ],
  },
};

/** Paints the built-in 640×400 test image: gradients, shapes, a spectrum, a grey ramp and text. */
function drawTestImage(canvas) {
  canvas.width = 640;
  canvas.height = 400;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const { width: w, height: hgt } = canvas;

  const sky = ctx.createLinearGradient(0, 0, w, hgt);
  sky.addColorStop(0, '#1c3faa');
  sky.addColorStop(0.45, '#7b3fe4');
  sky.addColorStop(0.75, '#e8467c');
  sky.addColorStop(1, '#ffb347');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, w, hgt);

  const glow = ctx.createRadialGradient(470, 120, 10, 470, 120, 220);
  glow.addColorStop(0, 'rgba(255, 246, 200, 0.95)');
  glow.addColorStop(1, 'rgba(255, 246, 200, 0)');
  ctx.fillStyle = glow;
  ctx.fillRect(0, 0, w, hgt);

  // Thin stripes and a checkerboard: fine detail that shows blur and sharpen clearly.
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.55)';
  ctx.lineWidth = 2;
  for (let i = 0; i < 9; i++) {
    ctx.beginPath();
    for (let x = 0; x <= w; x += 8) {
      const y = 250 + i * 7 + Math.sin(x / 38 + i * 0.5) * 14;
      if (x === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 6; x++) {
      ctx.fillStyle = (x + y) % 2 === 0 ? '#ffffff' : '#111827';
      ctx.fillRect(36 + x * 12, 40 + y * 12, 12, 12);
    }
  }

  const shapes = [
    { x: 200, y: 120, r: 48, color: '#22c55e' },
    { x: 290, y: 170, r: 36, color: '#facc15' },
    { x: 560, y: 250, r: 40, color: '#06b6d4' },
  ];
  for (const s of shapes) {
    ctx.beginPath();
    ctx.arc(s.x, s.y, s.r, 0, Math.PI * 2);
    ctx.fillStyle = s.color;
    ctx.fill();
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(255,255,255,0.85)';
    ctx.stroke();
  }
  ctx.save();
  ctx.translate(390, 200);
  ctx.rotate(-0.3);
  ctx.fillStyle = '#ef4444';
  ctx.fillRect(-34, -34, 68, 68);
  ctx.restore();
  ctx.beginPath();
  ctx.moveTo(110, 230);
  ctx.lineTo(160, 150);
  ctx.lineTo(210, 230);
  ctx.closePath();
  ctx.fillStyle = '#f97316';
  ctx.fill();

  // A hue spectrum over a grey ramp: every filter's effect on colour and tone in one strip.
  for (let x = 0; x < w; x++) {
    ctx.fillStyle = `hsl(${(x / w) * 360}, 90%, 55%)`;
    ctx.fillRect(x, hgt - 56, 1, 28);
    const g = Math.round((x / (w - 1)) * 255);
    ctx.fillStyle = `rgb(${g}, ${g}, ${g})`;
    ctx.fillRect(x, hgt - 28, 1, 28);
  }

  ctx.fillStyle = '#ffffff';
  ctx.shadowColor = 'rgba(0, 0, 0, 0.35)';
  ctx.shadowBlur = 8;
  ctx.font = '700 54px system-ui, sans-serif';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText('wasmbridge', 28, 308);
  ctx.shadowBlur = 0;
  ctx.font = '500 16px system-ui, sans-serif';
  ctx.fillText('Rust filters · 640 × 400 test image', 32, 332);
}

/** The RGBA pixels of a canvas. */
function pixelsOf(canvas) {
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

/** Row ranges [start, end) cutting `height` rows into `n` bands of nearly equal size. */
function bands(height, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor((height * i) / n);
    const end = Math.floor((height * (i + 1)) / n);
    if (end > start) out.push([start, end]);
  }
  return out;
}

/** Clamped view of a guest result, as ImageData wants it. */
function asClamped(bytes) {
  return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Runs `filter` on the whole image in one call to its own function.
 * The pixels are copied once and that copy is transferred, not cloned again.
 */
async function filterWhole(pool, filter, params, image) {
  const data = image.data.slice();
  const args = [data, image.width, image.height, ...FILTERS[filter].params.map((p) => params[p.key])];
  const { value } = await timed(pool, { fn: filter, args, transfer: [data] });
  return asClamped(value);
}

/** `filterHalo` answers, by filter and parameters: they never change, so ask once. */
const halos = new Map();

async function haloOf(pool, filter, json) {
  const key = `${filter} ${json}`;
  if (!halos.has(key)) halos.set(key, (await timed(pool, { fn: 'filterHalo', args: [filter, json] })).value);
  return halos.get(key);
}

/**
 * Runs `filter` as `bands` row bands in parallel with `filterBand` and
 * stitches the answers. Each worker gets only its rows plus the halo the
 * filter reads around them (from `filterHalo`), so less is copied; without
 * `filterHalo` each gets the whole image, which `filterBand` also accepts.
 */
async function filterSplit(pool, filter, params, image, count, hasHalo) {
  const { width, height } = image;
  const json = JSON.stringify(params);
  const rowBytes = width * 4;
  const halo = hasHalo ? await haloOf(pool, filter, json) : null;
  const parts = bands(height, count).map(async ([start, end]) => {
    let data;
    if (halo === null) {
      data = image.data.slice();
    } else {
      const from = Math.max(0, start - halo);
      const to = Math.min(height, end + halo);
      data = image.data.slice(from * rowBytes, to * rowBytes);
    }
    const { value } = await timed(pool, { fn: 'filterBand', args: [filter, json, data, width, height, start, end], transfer: [data] });
    if (value.length !== (end - start) * rowBytes) {
      throw new Error(`filterBand returned ${value.length} bytes for rows ${start}..${end}, expected ${(end - start) * rowBytes}`);
    }
    return { start, value };
  });
  const out = new Uint8ClampedArray(width * height * 4);
  for (const { start, value } of await Promise.all(parts)) out.set(value, start * rowBytes);
  return { pixels: out, halo };
}

/**
 * Before/after canvases, a filter with its parameters, a split toggle that
 * spreads row bands over every worker, a file picker and drag & drop.
 */
function setupImages(pool) {
  const before = /** @type {HTMLCanvasElement} */ ($('#img-before'));
  const after = /** @type {HTMLCanvasElement} */ ($('#img-after'));
  const filterSelect = /** @type {HTMLSelectElement} */ ($('#img-filter'));
  const split = /** @type {HTMLInputElement} */ ($('#img-split'));
  const time = $('#img-time');
  const error = $('#img-error');
  const sliders = [
    { field: $('#img-param-field'), input: /** @type {HTMLInputElement} */ ($('#img-param')), label: $('#img-param-label'), value: $('#img-param-value') },
    { field: $('#img-param2-field'), input: /** @type {HTMLInputElement} */ ($('#img-param2')), label: $('#img-param2-label'), value: $('#img-param2-value') },
  ];
  const standard = /** @type {HTMLSelectElement} */ ($('#img-standard'));
  const canSplit = missingFunctions(pool, ['filterBand']).length === 0;
  const hasHalo = missingFunctions(pool, ['filterHalo']).length === 0;
  const next = latestOnly();
  /** Slider values per filter, so switching filters back keeps what was set. */
  const chosen = Object.fromEntries(Object.entries(FILTERS).map(([name, f]) => [name, Object.fromEntries(f.params.map((p) => [p.key, p.value]))]));
  let image = /** @type {ImageData | null} */ (null);
  let pending = 0;

  for (const option of filterSelect.options) {
    if (missingFunctions(pool, [option.value]).length > 0) {
      option.disabled = true;
      option.textContent += ' (not in this guest)';
    }
  }
  if (filterSelect.selectedOptions[0]?.disabled) {
    const first = [...filterSelect.options].find((o) => !o.disabled);
    if (first) filterSelect.value = first.value;
  }
  if (!canSplit) {
    split.disabled = true;
    $('#img-split-label').textContent = 'Split across workers (filterBand is not in this guest)';
  }

  const workerCount = () => Math.max(1, pool.stats().workers.filter((w) => w.state === 'ready').length);

  function showParams() {
    const filter = filterSelect.value;
    const numeric = FILTERS[filter].params.filter((p) => !p.choice);
    sliders.forEach((s, i) => {
      const p = numeric[i];
      s.field.hidden = !p;
      if (!p) return;
      Object.assign(s.input, { min: String(p.min), max: String(p.max), step: String(p.step) });
      s.input.value = String(chosen[filter][p.key]);
      s.input.dataset.key = p.key;
      s.label.textContent = p.label;
      s.value.textContent = s.input.value;
    });
    $('#img-standard-field').hidden = !FILTERS[filter].params.some((p) => p.choice);
  }

  function currentParams() {
    const filter = filterSelect.value;
    const params = {};
    for (const p of FILTERS[filter].params) {
      params[p.key] = p.choice ? standard.value : chosen[filter][p.key];
    }
    return params;
  }

  // The after canvas keeps the previous picture until the new one is ready, instead of flashing blank.
  function setImage(source) {
    image = source;
    $('#img-size').textContent = `${source.width} × ${source.height}`;
    run();
  }

  async function run() {
    if (!image || filterSelect.selectedOptions[0]?.disabled) return;
    const isLatest = next();
    const filter = filterSelect.value;
    const params = currentParams();
    const mode = split.checked && canSplit ? 'split' : 'single';
    const workers = workerCount();
    const source = image;
    pending += 1;
    after.classList.add('busy');
    const t0 = performance.now();
    try {
      const { pixels, halo } = mode === 'split'
        ? await filterSplit(pool, filter, params, source, workers, hasHalo)
        : { pixels: await filterWhole(pool, filter, params, source), halo: null };
      const ms = performance.now() - t0;
      if (!isLatest()) return;
      if (pixels.length !== source.width * source.height * 4) {
        throw new Error(`${filter} returned ${pixels.length} bytes for a ${source.width}×${source.height} image`);
      }
      after.width = source.width;
      after.height = source.height;
      after.getContext('2d')?.putImageData(new ImageData(pixels, source.width, source.height), 0, 0);
      const overlap = halo ? `, halo of ${halo} row${halo === 1 ? '' : 's'}` : '';
      const where = mode === 'split' ? `split across ${workers} worker${workers === 1 ? '' : 's'}${overlap}` : 'on one worker';
      time.textContent = `· ${FILTERS[filter].label} in ${formatDuration(ms)} ${where}`;
      error.textContent = '';
      // For tests and the curious: what the after canvas currently shows.
      after.dataset.rendered = `${filter}:${mode}`;
    } catch (err) {
      if (isLatest()) {
        showError(error, err);
        time.textContent = '';
      }
    } finally {
      pending -= 1;
      if (pending === 0) after.classList.remove('busy');
    }
  }

  // Sliders re-run the filter once they rest for 120 ms, not on every step of a drag.
  let scheduled = 0;
  const runSoon = () => {
    clearTimeout(scheduled);
    scheduled = setTimeout(run, 120);
  };

  filterSelect.addEventListener('change', () => { showParams(); run(); });
  standard.addEventListener('change', run);
  for (const s of sliders) {
    s.input.addEventListener('input', () => {
      chosen[filterSelect.value][s.input.dataset.key] = Number(s.input.value);
      s.value.textContent = s.input.value;
      runSoon();
    });
  }
  split.addEventListener('change', run);
  $('#img-run').addEventListener('click', run);
  $('#img-reset').addEventListener('click', () => { drawTestImage(before); setImage(pixelsOf(before)); });

  async function loadFile(file) {
    if (!file || !file.type.startsWith('image/')) {
      error.textContent = file ? `${file.name} is not an image` : '';
      return;
    }
    try {
      const bitmap = await createImageBitmap(file);
      const scale = Math.min(1, MAX_IMAGE_SIDE / Math.max(bitmap.width, bitmap.height));
      before.width = Math.max(1, Math.round(bitmap.width * scale));
      before.height = Math.max(1, Math.round(bitmap.height * scale));
      before.getContext('2d')?.drawImage(bitmap, 0, 0, before.width, before.height);
      bitmap.close();
      setImage(pixelsOf(before));
    } catch (err) {
      error.textContent = `could not read ${file.name}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  $('#img-file').addEventListener('change', (e) => {
    const input = /** @type {HTMLInputElement} */ (e.currentTarget);
    loadFile(input.files?.[0]);
    input.value = '';
  });
  const dropZone = $('#image');
  dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    $('#img-drop').classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', (e) => {
    if (!dropZone.contains(/** @type {Node} */ (e.relatedTarget))) $('#img-drop').classList.remove('dragging');
  });
  dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    $('#img-drop').classList.remove('dragging');
    loadFile(e.dataTransfer?.files?.[0]);
  });

  const updateSplitLabel = () => {
    if (canSplit) $('#img-split-label').textContent = `Split across ${workerCount()} workers`;
  };
  updateSplitLabel();
  setInterval(updateSplitLabel, 1000);

  showParams();
  drawTestImage(before);
  setImage(pixelsOf(before));
}

// ---- 5. dashboard ----

/** Latency histogram bins: 1–3–10 steps from 0.1 ms to 3 s, plus the two open ends. */
const LATENCY_EDGES = [0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000];
const EDGE_LABELS = ['0.1', '', '1 ms', '', '10', '', '100', '', '1 s', ''];

function drawHistogram(canvas, values) {
  const { ctx, width: cssWidth, height: cssHeight } = sizedContext(canvas, 120);

  const counts = new Array(LATENCY_EDGES.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < LATENCY_EDGES.length && v >= LATENCY_EDGES[i]) i++;
    counts[i] += 1;
  }
  const max = Math.max(1, ...counts);
  const pad = { left: 8, right: 8, top: 10, bottom: 20 };
  const plotW = cssWidth - pad.left - pad.right;
  const plotH = cssHeight - pad.top - pad.bottom;
  const slot = plotW / counts.length;

  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  counts.forEach((count, i) => {
    const barH = (count / max) * plotH;
    const x = pad.left + i * slot + 2;
    ctx.fillStyle = count > 0 ? '#3b5bdb' : '#dfe3ee';
    ctx.fillRect(x, pad.top + plotH - Math.max(barH, 2), slot - 4, Math.max(barH, 2));
    if (count > 0 && barH > 14) {
      ctx.fillStyle = '#ffffff';
      ctx.fillText(String(count), x + (slot - 4) / 2, pad.top + plotH - barH + 2);
    }
  });
  ctx.fillStyle = '#5d6577';
  LATENCY_EDGES.forEach((_, i) => {
    if (EDGE_LABELS[i]) ctx.fillText(EDGE_LABELS[i], pad.left + (i + 1) * slot, cssHeight - pad.bottom + 5);
  });
  if (values.length === 0) {
    ctx.textBaseline = 'middle';
    ctx.fillText('no calls yet', cssWidth / 2, pad.top + plotH / 2);
  }
}

/** Rows in the dashboard's per-function table. */
const BUSIEST_FUNCTIONS = 5;

/**
 * Refreshes the dashboard from `pool.stats()` every 250 ms: workers, queue,
 * calls in flight, errors by code, the busiest functions, and the page's own
 * latency histogram.
 */
function setupDashboard(pool) {
  const tbody = $('#stats-workers');
  const errors = $('#stats-errors');
  const hist = /** @type {HTMLCanvasElement} */ ($('#stats-hist'));
  const fnBody = $('#stats-functions');
  let functionsKey = '';
  const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  let errorsKey = '';
  let drawn = -1;
  let drawnWidth = 0;

  function renderWorkers(workers) {
    while (tbody.rows.length > workers.length) tbody.deleteRow(-1);
    while (tbody.rows.length < workers.length) {
      const row = tbody.insertRow();
      row.append(h('td'), h('td', {}, h('span', { class: 'state' })), h('td'), h('td', { class: 'num' }), h('td', { class: 'num' }), h('td', { class: 'num' }));
    }
    workers.forEach((w, i) => {
      const [id, state, busy, calls, failures, restarts] = tbody.rows[i].cells;
      setText(id, `#${w.id}${w.pinned ? ' (pinned)' : ''}`);
      const badge = /** @type {HTMLElement} */ (state.firstChild);
      badge.className = `state ${w.state}`;
      setText(badge, w.state);
      setText(busy, w.busy ? `busy (${w.inFlight})` : 'idle');
      busy.className = w.busy ? 'busy-yes' : '';
      setText(calls, String(w.calls));
      setText(failures, String(w.failures));
      setText(restarts, String(w.restarts));
    });
  }

  function renderErrors(functions) {
    const byCode = {};
    for (const f of Object.values(functions)) {
      for (const [code, n] of Object.entries(f.errors)) byCode[code] = (byCode[code] ?? 0) + n;
    }
    const key = JSON.stringify(Object.entries(byCode).sort());
    if (key === errorsKey) return;
    errorsKey = key;
    const codes = Object.keys(byCode).sort();
    errors.replaceChildren(...(codes.length === 0
      ? [h('li', { class: 'muted', text: 'none yet' })]
      : codes.map((code) => h('li', { class: 'chip', dataset: { code } }, code, h('b', { text: String(byCode[code]) })))));
  }

  function renderFunctions(functions) {
    const top = Object.entries(functions).sort((x, y) => y[1].count - x[1].count).slice(0, BUSIEST_FUNCTIONS);
    const key = JSON.stringify(top);
    if (key === functionsKey) return;
    functionsKey = key;
    fnBody.replaceChildren(...(top.length === 0
      ? [h('tr', {}, h('td', { class: 'muted', colspan: '5', text: 'no calls yet' }))]
      : top.map(([name, f]) => h('tr', {},
        h('td', { class: 'mono', text: name }),
        h('td', { class: 'num', text: String(f.count) }),
        h('td', { class: 'num', text: formatDuration(f.p50) }),
        h('td', { class: 'num', text: formatDuration(f.p99) }),
        h('td', {}, h('span', { class: `state ${f.circuit === 'open' ? 'dead' : 'ready'}`, title: `circuit ${f.circuit}`, text: f.circuit }))))));
  }

  function render() {
    const s = pool.stats();
    renderWorkers(s.workers);
    renderErrors(s.functions);
    renderFunctions(s.functions);
    const calls = Object.values(s.functions).reduce((sum, f) => sum + f.count, 0);
    setText($('#stats-calls'), calls.toLocaleString('en'));
    setText($('#stats-inflight'), String(s.inFlight));
    setText($('#stats-queued'), String(s.queued));
    setText($('#stats-latency'), latencies.last ? formatDuration(latencies.last.ms) : '–');
    $('#stats-latency').title = latencies.last ? `${latencies.last.fn}` : '';
    // Redraw only when there is something new or the canvas was resized.
    if (drawn !== latencies.version || drawnWidth !== hist.clientWidth) {
      drawn = latencies.version;
      drawnWidth = hist.clientWidth;
      drawHistogram(hist, latencies.recent);
    }
  }

  render();
  setInterval(render, 250);
}

// ---- 6. fault tolerance ----

/**
 * Buttons that provoke each kind of failure; the log shows the code that
 * came back, and the dashboard shows a stuck worker being replaced.
 */
function setupFaults(pool) {
  const log = $('#fault-out');
  const has = (name) => missingFunctions(pool, [name]).length === 0;
  // Something slow enough to time out or cancel: trial division of a large
  // semiprime takes seconds; F(1 000 000) is the fallback.
  const slow = has('trialDivision') ? { fn: 'trialDivision', args: [SLOW_SEMIPRIME] }
    : has('fibonacci') ? { fn: 'fibonacci', args: [1_000_000] }
      : null;

  function show(label, promise) {
    const t0 = performance.now();
    const entry = h('li', {}, h('span', { class: 'code', text: '…' }), label);
    log.prepend(entry);
    while (log.children.length > 6) log.lastElementChild?.remove();
    promise.then(
      (value) => {
        entry.className = 'ok';
        entry.replaceChildren(h('span', { class: 'code', text: 'OK' }), `${label} returned ${JSON.stringify(value).slice(0, 80)}`);
      },
      (err) => {
        entry.dataset.code = err.code ?? 'ERROR';
        entry.replaceChildren(
          h('span', { class: 'code', text: err.code ?? 'ERROR' }),
          `${err.message ?? err} `,
          h('span', { class: 'muted', text: `(${label} · ${formatDuration(performance.now() - t0)})` }));
      });
  }

  $('#fault-bad').addEventListener('click', () => show('factorize("abc")', timed(pool, { fn: 'factorize', args: ['abc'] })));
  $('#fault-guest').addEventListener('click', () => show('divide(1, 0)', timed(pool, { fn: 'divide', args: [1, 0] })));
  $('#fault-unknown').addEventListener('click', () => show('launchRockets()', timed(pool, { fn: 'launchRockets', args: [] })));

  const timeoutButton = /** @type {HTMLButtonElement} */ ($('#fault-timeout'));
  const cancelButton = /** @type {HTMLButtonElement} */ ($('#fault-cancel'));
  if (!slow) {
    for (const b of [timeoutButton, cancelButton]) {
      b.disabled = true;
      b.title = 'not in this guest: no slow function (trialDivision or fibonacci)';
    }
    return;
  }
  const slowLabel = `${slow.fn}(${JSON.stringify(slow.args[0])})`;
  timeoutButton.addEventListener('click', () => {
    show(`${slowLabel}, 50 ms timeout`, timed(pool, { ...slow, timeout: 50 }));
  });
  cancelButton.addEventListener('click', () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    show(`${slowLabel}, aborted after 30 ms`, timed(pool, { ...slow, signal: controller.signal }));
  });
}

// ---- 7. audio synth ----

/**
 * A short looping progression for the guest's synth (SynthSequence in
 * wasmbridge.d.ts): C – Am – F – G, a bass note with a rising arpeggio, soft
 * triangle waves at 104 bpm, two steps a beat.
 */
const SYNTH_SEQUENCE = {
  bpm: 104,
  stepsPerBeat: 2,
  waveform: 'triangle',
  adsr: { attack: 0.01, decay: 0.18, sustain: 0.45, release: 0.35 },
  gain: 0.22,
  loop: true,
  steps: [
    [{ note: 48, length: 4, velocity: 0.7 }, 60], 64, 67, { note: 72, pan: 0.3 }, 67, 64, null, 64,
    [{ note: 45, length: 4, velocity: 0.7 }, 57], 60, 64, { note: 69, pan: 0.3 }, 64, 60, null, 60,
    [{ note: 41, length: 4, velocity: 0.7 }, 53], 57, 60, { note: 65, pan: 0.3 }, 60, 57, null, 69,
    [{ note: 43, length: 4, velocity: 0.7 }, 55], 59, 62, { note: 67, pan: 0.3 }, 71, 74, { note: 79, length: 2, velocity: 0.6 }, null,
  ],
};

/**
 * Start and stop buttons for `startAudio`: the AudioContext is created inside
 * the click (browsers only let a gesture start sound); mode, underruns and
 * fill come from `stream.stats()` every 250 ms.
 */
function setupAudio(pool) {
  const start = /** @type {HTMLButtonElement} */ ($('#audio-start'));
  const stop = /** @type {HTMLButtonElement} */ ($('#audio-stop'));
  const state = $('#audio-state');
  const mode = $('#audio-mode');
  const underruns = $('#audio-underruns');
  const fill = $('#audio-fill');
  const meter = $('#audio-meter');
  const error = $('#audio-error');
  const expected = pool.isolated ? 'ring' : 'buffers';
  $('#audio-about').textContent = pool.isolated
    ? 'Ring mode: the page is cross-origin isolated, so samples go through a SharedArrayBuffer without touching the main thread.'
    : 'Buffers mode: without cross-origin isolation, 100 ms blocks come back by postMessage and are scheduled 400 ms ahead.';
  const needed = pool.isolated ? ['synthStream'] : ['synthOpen', 'synthNext', 'synthClose'];
  const missing = missingFunctions(pool, needed);
  if (missing.length > 0) {
    start.disabled = true;
    stop.disabled = true;
    start.title = `not in this guest: ${missing.join(', ')}`;
    $('#audio').classList.add('missing');
    $('#audio .card-head').append(h('span', { class: 'missing-note', text: `not in this guest: ${missing.join(', ')}` }));
    mode.textContent = expected;
    return;
  }

  /** @type {null | import('./wasmbridge/wasmbridge.d.ts').AudioStream} */
  let stream = null;
  let timer = 0;

  const render = () => {
    if (!stream) return;
    const s = stream.stats();
    mode.textContent = s.mode;
    underruns.textContent = s.underruns.toLocaleString('en');
    fill.textContent = `${Math.round(s.fill * 100)}%`;
    meter.style.width = `${Math.round(s.fill * 100)}%`;
    if (s.error) showError(error, s.error);
  };

  start.addEventListener('click', async () => {
    start.disabled = true;
    error.textContent = '';
    state.textContent = 'starting…';
    // Created here, in the click, so the browser lets it play; 48 kHz is what the synth renders.
    const context = new AudioContext({ sampleRate: 48_000, latencyHint: 'interactive' });
    try {
      stream = await startAudio(pool, { sequence: SYNTH_SEQUENCE, context });
    } catch (err) {
      await context.close().catch(() => {});
      showError(error, err);
      state.textContent = 'stopped';
      start.disabled = false;
      return;
    }
    state.textContent = `playing · ${context.state}`;
    stop.disabled = false;
    render();
    timer = setInterval(render, 250);
  });

  stop.addEventListener('click', async () => {
    if (!stream) return;
    stop.disabled = true;
    state.textContent = 'stopping…';
    clearInterval(timer);
    render();
    const playing = stream;
    stream = null;
    try {
      await playing.stop();
      await playing.context.close?.();
    } catch (err) {
      showError(error, err);
    }
    state.textContent = 'stopped';
    meter.style.width = '0%';
    start.disabled = false;
  });
}

// ---- 8. in-page benchmark ----

/** Sequential round trips per latency measurement, and calls per throughput measurement. */
const BENCH_ROUND_TRIPS = 2000;
const BENCH_CALLS = 20_000;

/** The value at fraction `q` of ascending `sorted`. */
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Times `n` sequential calls of `call(i)`; resolves with the latencies (ms) and the total. */
async function roundTrips(n, call) {
  const times = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    times[i] = performance.now() - t;
  }
  const total = performance.now() - t0;
  times.sort();
  return { median: quantile(times, 0.5), p99: quantile(times, 0.99), perSecond: (n / total) * 1000 };
}

/** Horizontal bars of calls per second, one per row; the longest bar is the fastest way. */
function drawBars(canvas, rows) {
  const { ctx, width: cssWidth, height: cssHeight } = sizedContext(canvas, 150);
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  if (rows.length === 0) {
    ctx.fillStyle = '#5d6577';
    ctx.textAlign = 'center';
    ctx.fillText('press Run benchmark', cssWidth / 2, cssHeight / 2);
    return;
  }
  const pad = { left: Math.min(150, Math.round(cssWidth * 0.38)), right: 80, top: 10, bottom: 10 };
  const slot = (cssHeight - pad.top - pad.bottom) / rows.length;
  const max = Math.max(...rows.map((r) => r.perSecond));
  const plotW = cssWidth - pad.left - pad.right;
  rows.forEach((r, i) => {
    const y = pad.top + i * slot;
    const w = Math.max(2, (r.perSecond / max) * plotW);
    ctx.fillStyle = '#1b1f2a';
    ctx.textAlign = 'right';
    ctx.fillText(r.short, pad.left - 10, y + slot / 2);
    ctx.fillStyle = r.perSecond === max ? '#3b5bdb' : '#8da2ee';
    ctx.fillRect(pad.left, y + 4, w, slot - 8);
    ctx.fillStyle = '#5d6577';
    ctx.textAlign = 'left';
    ctx.fillText(`${Math.round(r.perSecond).toLocaleString('en')}/s`, pad.left + w + 6, y + slot / 2);
  });
}

/**
 * Round-trip latency (sequential `call` and, when isolated, `fastCall`) and
 * throughput (20 000 calls issued at once, as one batch, or one at a time),
 * measured in this tab; a table and a bar chart of calls per second.
 */
function setupBenchmark(pool) {
  const button = /** @type {HTMLButtonElement} */ ($('#bench-run'));
  const progress = $('#bench-progress');
  const out = $('#bench-out');
  const chart = /** @type {HTMLCanvasElement} */ ($('#bench-chart'));
  drawBars(chart, []);
  if (button.disabled) return;
  const step = async (text) => {
    progress.textContent = text;
    // Let the page paint the progress line before the next measurement.
    await new Promise((resolve) => setTimeout(resolve, 30));
  };

  button.addEventListener('click', async () => {
    button.disabled = true;
    out.setAttribute('aria-busy', 'true');
    const t0 = performance.now();
    try {
      await step('Warming up…');
      await Promise.all(Array.from({ length: 200 }, (_, i) => pool.call('add', i, 1)));
      for (let i = 0; i < 100; i++) await pool.call('add', i, 1);

      await step(`1/4 · ${BENCH_ROUND_TRIPS.toLocaleString('en')} sequential pool.call…`);
      const call = await roundTrips(BENCH_ROUND_TRIPS, (i) => pool.call('add', i, 1));

      let fast = null;
      if (pool.isolated) {
        await step(`2/4 · ${BENCH_ROUND_TRIPS.toLocaleString('en')} sequential pool.fastCall…`);
        for (let i = 0; i < 100; i++) await pool.fastCall('add', i, 1);
        fast = await roundTrips(BENCH_ROUND_TRIPS, (i) => pool.fastCall('add', i, 1));
      }

      await step(`3/4 · ${BENCH_CALLS.toLocaleString('en')} pool.call at once (coalesced)…`);
      let t = performance.now();
      await Promise.all(Array.from({ length: BENCH_CALLS }, (_, i) => pool.call('add', i, 1)));
      const coalesced = (BENCH_CALLS / (performance.now() - t)) * 1000;

      await step(`4/4 · ${BENCH_CALLS.toLocaleString('en')} calls in one pool.batch…`);
      t = performance.now();
      const results = await pool.batch(Array.from({ length: BENCH_CALLS }, (_, i) => ['add', i, 1]));
      const batch = (BENCH_CALLS / (performance.now() - t)) * 1000;
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) throw new Error(`${failed} of ${BENCH_CALLS} batched calls failed`);

      const rows = [
        { name: `pool.call, one at a time (${BENCH_ROUND_TRIPS.toLocaleString('en')})`, short: 'call, sequential', ...call },
        fast
          ? { name: `pool.fastCall, one at a time (${BENCH_ROUND_TRIPS.toLocaleString('en')})`, short: 'fastCall, sequential', ...fast }
          : { name: 'pool.fastCall, one at a time', short: 'fastCall', missing: 'needs cross-origin isolation' },
        { name: `pool.call × ${BENCH_CALLS.toLocaleString('en')} with Promise.all (coalesced)`, short: 'call, Promise.all', perSecond: coalesced },
        { name: `pool.batch of ${BENCH_CALLS.toLocaleString('en')}`, short: 'batch', perSecond: batch },
      ];
      const cell = (ms) => h('td', { class: 'num', text: ms === undefined ? '–' : formatDuration(ms) });
      out.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'workers bench-table' },
        h('thead', {}, h('tr', {}, h('th', { text: 'add(i, 1)' }), h('th', { class: 'num', text: 'median' }), h('th', { class: 'num', text: 'p99' }), h('th', { class: 'num', text: 'calls/s' }))),
        h('tbody', {}, rows.map((r) => (r.missing
          ? h('tr', { class: 'skipped' }, h('td', { text: r.name }), h('td', { class: 'muted', colspan: '3', text: r.missing }))
          : h('tr', {}, h('td', { text: r.name }), cell(r.median), cell(r.p99), h('td', { class: 'num', text: Math.round(r.perSecond).toLocaleString('en') }))))))),
      h('p', { class: 'meta' }, `${pool.stats().workers.filter((w) => w.state === 'ready').length} workers · ${pool.isolated ? 'cross-origin isolated' : 'not isolated'} · sequential rows: latency of each awaited call; the others: all calls issued at once. The full suite, with a raw postMessage floor:`, h('code', { text: 'cargo xtask bench' })));
      drawBars(chart, rows.filter((r) => !r.missing));
      progress.textContent = `Done in ${formatDuration(performance.now() - t0)}.`;
    } catch (err) {
      out.replaceChildren(errorNode(err));
      progress.textContent = 'Stopped by an error.';
    } finally {
      button.disabled = false;
      out.removeAttribute('aria-busy');
    }
  });
}

// ---- start ----

/** Pool size: `?workers=N` when given, else the machine's cores (2 to 4), so split mode has something to split over. */
function poolSize() {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  if (Number.isInteger(asked) && asked >= 1 && asked <= 16) return asked;
  return Math.max(2, Math.min(navigator.hardwareConcurrency || 2, 4));
}

async function main() {
  const size = poolSize();
  const loading = loadingState(size);
  let pool;
  try {
    pool = await createPool({ size, onLoadProgress: loading.progress });
  } catch (err) {
    loading.fail(err);
    return;
  }
  loading.ready(pool);
  markMissing(pool);
  setupCalculator(pool);
  setupBigNumbers(pool);
  setupImages(pool);
  setupMatrices(pool);
  setupCharts(pool);
  setupGame(pool);
  setupDashboard(pool);
  setupFaults(pool);
  setupAudio(pool);
  setupBenchmark(pool);
  window.addEventListener('pagehide', () => pool.close());
}

main();
