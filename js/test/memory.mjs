// Resident memory of the Chromium this test process launched, read from
// /proc (Linux): every chromium process below this Node process, renderers
// included, which is where pages, their workers and wasm memories live. A
// measure of the real process, not of one JS heap, so it sees wasm memory
// that an instance no longer reachable would still hold.

import { readFileSync, readdirSync } from 'node:fs';

/** Bytes resident in every Chromium process descended from this process. */
export function chromiumResidentBytes() {
  const parent = new Map();
  const comm = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      comm.set(Number(name), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    } catch {
      // The process ended while the list was read.
    }
  }
  const mine = (pid) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, name] of comm) {
    if (!name.startsWith('chrom') || !mine(pid)) continue;
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // The process ended while it was read.
    }
  }
  return total;
}
