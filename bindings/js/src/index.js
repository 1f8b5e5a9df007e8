// csvseal for JavaScript: the same sandboxed component as the CLI, in Node
// and in browsers. Types and documentation: ../index.d.ts.

import { seal } from './run.js';

export { verify, seal, rowChecksum } from './run.js';
export { Report, canonicalJson } from './report.js';
export { createWorker, CsvsealWorker } from './worker-client.js';
export { loadEngine, DEFAULT_MEMORY_LIMIT, DEFAULT_MAX_OUTPUT } from './engine.js';
export { MIN_CHUNK, MAX_CHUNK } from './chunks.js';
export * from './errors.js';

/**
 * Seal as a TransformStream: input bytes in, sealed bytes out. `summary`
 * resolves when the input is done, or rejects (and the stream errors) with
 * a SealError. Bytes already emitted before an error are not a sealed file.
 */
export function sealStream(options = {}) {
  const input = new TransformStream();
  const output = new TransformStream();
  const summary = seal(input.readable, { ...options, output: output.writable }).then((r) => r.summary);
  summary.catch((e) => {
    input.readable.cancel(e).catch(() => {});
    output.writable.abort(e).catch(() => {});
  });
  return { writable: input.writable, readable: output.readable, summary };
}
