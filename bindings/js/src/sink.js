// Where sealed bytes go: a callback, a WritableStream, or memory (returned
// as one Uint8Array at the end).

export function sink(target) {
  if (typeof target === 'function') {
    return { write: async (b) => b.length && (await target(b)), close() {}, abort() {}, data: () => undefined };
  }
  if (target) {
    const writer = target.getWriter();
    return {
      write: async (b) => b.length && (await writer.write(b)),
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason).catch(() => {}),
      data: () => undefined,
    };
  }
  const parts = [];
  return {
    write: (b) => b.length && parts.push(b),
    close() {},
    abort() {},
    data: () => concat(parts),
  };
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
