// Every accepted input, as a stream of chunks sized for the component:
// small pieces are coalesced and big ones split, so each call crosses the
// boundary with between MIN_CHUNK and `size` bytes (the last may be less).

import { InputError, OptionsError } from './errors.js';

export const MIN_CHUNK = 64 << 10;
export const MAX_CHUNK = 1 << 20;

export function chunkSize(size = MAX_CHUNK) {
  if (!Number.isInteger(size) || size < MIN_CHUNK || size > MAX_CHUNK) {
    throw new OptionsError(`chunkSize must be an integer from ${MIN_CHUNK} to ${MAX_CHUNK}, got ${size}`);
  }
  return size;
}

/** Throws InputError unless `input` is something `pieces` can read. */
export function checkInput(input) {
  if (
    input instanceof Uint8Array ||
    input instanceof ArrayBuffer ||
    isBlob(input) ||
    isReadableStream(input) ||
    (input != null && typeof input[Symbol.asyncIterator] === 'function')
  ) {
    return;
  }
  const what = typeof input === 'string' ? 'a string (encode it: new TextEncoder().encode(s))' : describe(input);
  throw new InputError(
    `input must be a Uint8Array, ArrayBuffer, Blob/File, ReadableStream or AsyncIterable<Uint8Array>; got ${what}`,
  );
}

/** Yields `input` as chunks of exactly `size` bytes, the last one shorter. */
export async function* chunks(input, size) {
  checkInput(input);
  const buf = new Uint8Array(size);
  let filled = 0;
  for await (const piece of pieces(input, size)) {
    let at = 0;
    // Whole chunks straight from the piece when nothing is buffered: no copy.
    while (filled === 0 && piece.length - at >= size) {
      yield piece.subarray(at, at + size);
      at += size;
    }
    while (at < piece.length) {
      const n = Math.min(size - filled, piece.length - at);
      buf.set(piece.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === size) {
        // The consumer is done with a chunk before asking for the next one
        // (it feeds it to the component, which copies it), so reuse is safe.
        yield buf;
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buf.subarray(0, filled);
}

/** The input's own pieces, any size. */
async function* pieces(input, size) {
  if (input instanceof ArrayBuffer) input = new Uint8Array(input);
  if (input instanceof Uint8Array) {
    yield input;
  } else if (isBlob(input)) {
    // Blob.slice reads lazily: a 2 GB File never sits in memory whole.
    for (let at = 0; at < input.size; at += size) {
      yield new Uint8Array(await read(() => input.slice(at, at + size).arrayBuffer()));
    }
  } else if (isReadableStream(input)) {
    const reader = input.getReader();
    try {
      for (;;) {
        const { done, value } = await read(() => reader.read());
        if (done) break;
        yield bytesOf(value);
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    const it = input[Symbol.asyncIterator]();
    for (;;) {
      const { done, value } = await read(() => it.next());
      if (done) break;
      yield bytesOf(value);
    }
  }
}

async function read(f) {
  try {
    return await f();
  } catch (e) {
    throw new InputError(`reading the input failed: ${e?.message ?? e}`, { cause: e });
  }
}

function bytesOf(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new InputError(`the input yielded ${describe(value)}; expected Uint8Array chunks`);
}

function isBlob(x) {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

function isReadableStream(x) {
  return typeof ReadableStream !== 'undefined' && x instanceof ReadableStream;
}

function describe(x) {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return x.constructor?.name ?? 'an object';
}
