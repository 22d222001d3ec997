import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// COOP + COEP make the page cross-origin isolated, which switches on the
// runtime's shared-memory features (cooperative cancel, the fast lane);
// CORP lets the isolated page load these files. The dev server and
// `vite preview` both need them; so does whatever serves dist/ later
// (`wasmbridge serve dist` sends them, `wasmbridge deploy nginx` writes them).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

// This example depends on the package by path (`file:`), so npm links it and
// its files live outside the app; the dev server serves only allowed
// directories. An app that installed wasmbridge from npm needs no such line.
const runtime = fileURLToPath(new URL('../../crates/wasmbridge/runtime', import.meta.url));

export default defineConfig({
  server: { headers: isolation, fs: { allow: ['.', runtime] } },
  preview: { headers: isolation },
});
