// The page side of `wasmbridge dev`. The dev server puts a module script tag for
// this file into every HTML page it serves, with the build generation the page
// was served from in the query. The script listens to the server's event stream:
// a good build newer than the page reloads it; a failed build shows the
// compiler's error over the page, which keeps running the last good bundle.

const params = new URL(import.meta.url).searchParams;
const served = { generation: Number(params.get('generation')), instance: params.get('instance') };
const OVERLAY_ID = 'wasmbridge-dev-overlay';

function showError(text) {
  let overlay = document.getElementById(OVERLAY_ID);
  if (!overlay) {
    overlay = document.createElement('section');
    overlay.id = OVERLAY_ID;
    overlay.setAttribute('role', 'alert');
    overlay.style.cssText = 'position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;'
      + 'margin:0;padding:12px 16px;background:#1e1e1e;color:#f2f2f2;border-top:4px solid #e5484d;'
      + 'font:13px/1.45 ui-monospace,Menlo,Consolas,monospace;box-shadow:0 -4px 16px rgb(0 0 0 / 30%)';
    const title = document.createElement('strong');
    title.textContent = 'wasmbridge dev: the build failed; this page still runs the last good build';
    title.style.cssText = 'display:block;color:#ff8f8f;margin-bottom:8px;font-family:system-ui,sans-serif';
    const body = document.createElement('pre');
    body.style.cssText = 'margin:0;white-space:pre-wrap';
    overlay.append(title, body);
    (document.body ?? document.documentElement).append(overlay);
  }
  overlay.querySelector('pre').textContent = text;
}

function clearError() {
  document.getElementById(OVERLAY_ID)?.remove();
}

const events = new EventSource('/_wasmbridge/events');
events.addEventListener('status', (event) => {
  const status = JSON.parse(event.data);
  if (status.state === 'failed') {
    showError(status.error);
  } else if (status.generation !== served.generation || status.instance !== served.instance) {
    // A newer good build (or a restarted server): the page and its bundle are stale.
    events.close();
    location.reload();
  } else {
    clearError();
  }
});
