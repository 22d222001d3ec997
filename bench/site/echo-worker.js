// The floor: a raw postMessage worker. `{id, a, b}` → `{id, r: a + b}`, one
// message per call; `{id, buf, move}` sends buf back, transferred when `move`.
self.onmessage = (e) => {
  const m = e.data;
  if (m.buf !== undefined) self.postMessage({ id: m.id, buf: m.buf }, m.move ? [m.buf] : []);
  else self.postMessage({ id: m.id, r: m.a + m.b });
};
