// A memory cap for a component's core wasm modules, imposed in their bytes.
//
// JS engines give no ResourceLimiter: a module whose memory has no maximum
// may grow to 4 GiB (and Node's worker `resourceLimits` only bound the JS
// heap, not wasm memory). So before compiling we rewrite every memory the
// modules define to declare a maximum; a `memory.grow` past it then fails
// inside the component, which traps, and the call reports a LimitError.
// The cap is on all of a component's memories together, as wasmtime's
// limiter counts them: each memory gets its minimum plus an equal share of
// what the minimums leave, so no mix of growth passes the cap.

const PAGE = 65536;
const MEMORY_SECTION = 5;

/**
 * Returns `modules` (core wasm bytes, one per module of a component) with
 * every defined 32-bit memory given a maximum so that all of them together
 * stay within `maxBytes`, and `minBytes`, the memory they need to start.
 * Throws a plain Error naming the need when the minimums alone pass the cap.
 */
export function capMemories(modules, maxBytes) {
  const capPages = Math.floor(maxBytes / PAGE);
  const memories = modules.flatMap((bytes) => memoryLimits(bytes));
  const minPages = memories.reduce((n, m) => n + m.min, 0);
  const minBytes = minPages * PAGE;
  if (minPages > capPages) return { modules, minBytes };
  const share = memories.length ? Math.floor((capPages - minPages) / memories.length) : 0;
  return { modules: modules.map((bytes) => rewrite(bytes, (min, max) => Math.min(max, min + share))), minBytes };
}

/** One module's defined memories, as { min, max } in pages (max Infinity when none). */
function memoryLimits(bytes) {
  const found = [];
  rewrite(bytes, (min, max) => {
    found.push({ min, max });
    return max;
  });
  return found;
}

/** `bytes` with each defined memory's maximum replaced by `newMax(min, max)` pages. */
function rewrite(bytes, newMax) {
  const r = new Reader(bytes);
  if (r.u32le() !== 0x6d736100) throw new Error('not a wasm module');
  r.u32le(); // version
  const parts = [bytes.subarray(0, 8)];
  while (!r.done()) {
    const start = r.pos;
    const id = r.byte();
    const size = r.leb();
    const body = r.pos;
    r.pos += size;
    if (r.pos > bytes.length) throw new Error('truncated wasm module');
    if (id !== MEMORY_SECTION) {
      parts.push(bytes.subarray(start, r.pos));
      continue;
    }
    const s = new Reader(bytes.subarray(body, body + size));
    const count = s.leb();
    const out = [...leb(count)];
    for (let i = 0; i < count; i++) {
      const flags = s.byte();
      if (flags > 1) throw new Error(`memory flags ${flags} (shared or 64-bit) are not supported`);
      const min = s.leb();
      const max = flags & 1 ? s.leb() : Infinity;
      const capped = newMax(min, max);
      if (capped === Infinity) {
        out.push(0, ...leb(min));
      } else {
        out.push(1, ...leb(min), ...leb(Math.max(min, capped)));
      }
    }
    parts.push(Uint8Array.of(MEMORY_SECTION, ...leb(out.length), ...out));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const result = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}

function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }
  done() {
    return this.pos >= this.bytes.length;
  }
  byte() {
    if (this.pos >= this.bytes.length) throw new Error('truncated wasm module');
    return this.bytes[this.pos++];
  }
  u32le() {
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getUint32(0, true);
    this.pos += 4;
    return v;
  }
  leb() {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (!(b & 0x80)) return result;
      scale *= 128;
    }
  }
}
