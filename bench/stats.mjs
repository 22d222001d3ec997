// Summaries and number formats shared by the runner and the report writer.

/** Median, quartiles and range of the finite samples; null when there are none. */
export function stats(samples) {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const q = (p) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
  };
  return { median: q(0.5), p25: q(0.25), p75: q(0.75), min: s[0], max: s[s.length - 1], n: s.length };
}

/** A duration given in ms, in the unit that reads best. */
export function fmtMs(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  if (ms === 0) return '0';
  if (ms < 0.001) return `${(ms * 1e6).toPrecision(3)} ns`;
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

/** A number with `d` decimals, or – when it is missing. */
export function fmt(x, d = 1) {
  return x === undefined || x === null || !Number.isFinite(x) ? '–' : x.toFixed(d);
}

/** A compact axis label for a duration in ms: 1 µs, 30 ms, 2 s. */
export function fmtTick(ms) {
  if (ms === 0) return '0';
  const p = (x) => String(Number(x.toPrecision(2)));
  if (ms < 0.001) return `${p(ms * 1e6)} ns`;
  if (ms < 1) return `${p(ms * 1000)} µs`;
  if (ms < 1000) return `${p(ms)} ms`;
  return `${p(ms / 1000)} s`;
}
