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

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
});
