// Shared set-up of the browser tests: the real `wasmbridge serve` binary, Debian's
// Chromium driven by playwright-core, and pages whose errors fail the test.

import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, cpSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const JS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(JS_DIR, '..');
export const TARGET = join(REPO, 'target');

/** The CLI under test: what `cargo xtask test` built, or WASMBRIDGE_BIN. */
export const BIN = process.env.WASMBRIDGE_BIN ? resolve(process.env.WASMBRIDGE_BIN) : join(TARGET, 'debug', 'wasmbridge');

/** Bundle directory of a guest crate built by `wasmbridge build -p NAME`. */
export function bundle(name) {
  const dir = join(TARGET, 'wasmbridge', name);
  if (!existsSync(join(dir, 'manifest.json'))) {
    throw new Error(`no bundle at ${dir}: run \`cargo xtask test\` (or \`wasmbridge build -p ${name}\`) first`);
  }
  return dir;
}

/**
 * A fresh directory under target/ holding the given bundles (name → bundle dir)
 * and an empty index.html, to be served as one origin.
 */
export function makeSite(name, bundles, extraFiles = {}) {
  const site = join(TARGET, 'test-sites', name);
  rmSync(site, { recursive: true, force: true });
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><title>wasmbridge test</title><link rel="icon" href="data:,"><body></body>\n');
  for (const [dir, from] of Object.entries(bundles)) cpSync(from, join(site, dir), { recursive: true });
  for (const [path, content] of Object.entries(extraFiles)) {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), content);
  }
  return site;
}

/**
 * Starts `wasmbridge serve ROOT --port 0` and resolves with the URL it printed.
 * @param {string} root
 * @param {{ isolated?: boolean }} [options] isolated: false serves without COOP/COEP
 */
export function startServer(root, { isolated = true } = {}) {
  const args = ['serve', root, '--port', '0'];
  if (!isolated) args.push('--no-isolation');
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`wasmbridge serve printed no URL within 10 s; stderr: ${stderr}`)); }, 10_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`wasmbridge serve exited with ${code}: ${stderr}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/at (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolvePromise({
          url: m[1].endsWith('/') ? m[1] : `${m[1]}/`,
          close: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }),
          process: child,
        });
      }
    });
  });
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
];

/** Headless Chromium with CHROMIUM_ARGS and any `args` after them. */
export function launchBrowser({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
}

/**
 * The usual fixture of a browser test file: the site `name` with `bundles`
 * (see makeSite) served twice, cross-origin isolated (`server`) and not
 * (`plain`), and one Chromium. `close()` stops all three.
 */
export async function isolatedAndPlain(name, bundles) {
  const site = makeSite(name, bundles);
  const server = await startServer(site);
  const plain = await startServer(site, { isolated: false });
  const browser = await launchBrowser();
  return {
    site, server, plain, browser,
    close: async () => {
      await browser.close();
      await server.close();
      await plain.close();
    },
  };
}

/**
 * Opens `url` in a fresh context. `errors` collects uncaught page errors and
 * console errors; tests assert it stays empty.
 */
export async function openPage(browser, url, { viewport } = {}) {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('crash', () => errors.push('page crashed'));
  await page.goto(url);
  return { page, errors, context, close: () => context.close() };
}

/**
 * Runs `fn(arg)` in a fresh page at `url` and fails if the page logged an
 * error other than those `allowed` (a RegExp) matches.
 */
export async function runInPage(browser, url, fn, arg, allowed = null) {
  const { page, errors, close } = await openPage(browser, url);
  try {
    const result = await page.evaluate(fn, arg);
    const unexpected = errors.filter((e) => !allowed?.test(e));
    if (unexpected.length > 0) throw new Error(`the page logged errors:\n${unexpected.join('\n')}`);
    return result;
  } finally {
    await close();
  }
}

/** Directory for screenshots the tests keep. */
export function screenshotDir() {
  const dir = join(TARGET, 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs a program to completion and resolves with its exit status and output;
 * never rejects for a failing status (tests assert it). `env` adds to the
 * environment; colours are switched off so the output can be matched.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, env?: Record<string, string>, timeout?: number }} [options]
 * @returns {Promise<{ status: number | null, stdout: string, stderr: string }>}
 */
export function exec(command, args, { cwd = REPO, env = {}, timeout = 300_000 } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (status) => { clearTimeout(timer); resolvePromise({ status, stdout, stderr }); });
  });
}

/** Like `exec`, but rejects (with the command's output) unless it exits with 0. */
export async function execOk(command, args, options) {
  const r = await exec(command, args, options);
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}
