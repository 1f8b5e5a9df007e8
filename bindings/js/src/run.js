// The three operations on one fresh component instance, in the calling
// thread. index.js exposes them directly; worker.js runs them in a Worker.

import { chunks } from './chunks.js';
import { startFidelity } from './fidelity.js';
import { loadEngine } from './engine.js';
import { AbortError, OptionsError, SchemaError, SealError } from './errors.js';
import { sealOptions, verifyOptions } from './options.js';
import { Report, sealFailure, sealSummary } from './report.js';
import { feedSignature, finishSignature, startSignature } from './signature.js';
import { sink } from './sink.js';

async function instance(host) {
  return loadEngine({ component: host.component, memoryLimitBytes: host.memoryLimitBytes }).instance({
    maxOutputBytes: host.maxOutputBytes,
  });
}

/** Options the component refused: the schema (or header) is at fault. */
function create(call, make) {
  try {
    return call(make);
  } catch (e) {
    if (e?.payload !== undefined) throw new SchemaError(String(e.payload));
    if (e instanceof TypeError) throw new OptionsError(`the component refused the options: ${e.message}`);
    throw e;
  }
}

/** The built-in checkers of a plugin seal; options they refuse are the schema's fault, as in create. */
async function startCheck(host, wit) {
  try {
    return await startFidelity(host, wit);
  } catch (e) {
    if (e?.payload !== undefined) throw new SchemaError(String(e.payload));
    throw e;
  }
}

function checkAbort(signal) {
  if (signal?.aborted) throw new AbortError('aborted', { cause: signal.reason });
}

/** Verifies `input`; see index.d.ts. */
export async function verify(input, options = {}) {
  const { host, wit } = verifyOptions(options, input);
  const { exports, call } = await instance(host);
  const verifier = create(call, () => exports.verify.Verifier.create(wit));
  // With publicKey, the signature is checked over the same chunks
  // (signature.js); without, verify pays for none of it.
  const signature = host.signature === null ? undefined : await startSignature(host, host.signature);
  let bytes = 0;
  for await (const chunk of chunks(input, host.chunkSize)) {
    checkAbort(options.signal);
    call(() => verifier.feed(chunk));
    feedSignature(signature, chunk);
    bytes += chunk.length;
    host.onProgress?.(bytes);
  }
  const r = call(() => verifier.finish());
  const report = Report.fromWit(r, bytes);
  return signature === undefined ? report : finishSignature(signature, r, report, wit.limits.maxErrors);
}

/**
 * Seals `input`: sealed bytes go to `options.output` as they are made, or
 * are collected into `data`. Resolves to `{ summary, data? }`; rejects with
 * SealError (every row error) when the input cannot be sealed, and, with a
 * plugin, with OutputCheckError when its output fails csvseal's check
 * (fidelity.js).
 */
export async function seal(input, options = {}) {
  const { host, wit } = sealOptions(options);
  const { exports, call } = await instance(host);
  const sealer = create(call, () => exports.seal.Sealer.create(wit));
  // A plugin's output is held to the request and the input by csvseal's
  // own component; a plain seal pays for none of it.
  const check = host.component === undefined ? null : await startCheck(host, wit);
  const out = sink(host.output);
  try {
    let bytes = 0;
    for await (const chunk of chunks(input, host.chunkSize)) {
      checkAbort(options.signal);
      check?.input(chunk);
      const sealed = call(() => sealer.feed(chunk));
      check?.output(sealed);
      await out.write(sealed);
      bytes += chunk.length;
      host.onProgress?.(bytes);
    }
    let last, summary;
    try {
      [last, summary] = call(() => sealer.finish());
    } catch (e) {
      throw e?.payload === undefined ? e : new SealError(sealFailure(e.payload));
    }
    check?.output(last);
    await out.write(last);
    // The verdict comes before the stream's clean end: a failed check
    // aborts it instead (bytes already written are not a sealed file).
    check?.finish(summary);
    await out.close();
    return { summary: sealSummary(summary), data: out.data() };
  } catch (e) {
    await out.abort(e);
    throw e;
  }
}

/** The policy's compute_row_checksum for one row (hex SHA-256). */
export async function rowChecksum(header, fields, options = {}) {
  if (!isStrings(header) || !isStrings(fields)) {
    throw new OptionsError('header and fields must be arrays of strings');
  }
  const { exports, call } = await instance(verifyOptions(options).host);
  try {
    return call(() => exports.checksum.rowChecksum(header, fields));
  } catch (e) {
    if (e?.payload !== undefined) throw new OptionsError(String(e.payload));
    throw e;
  }
}

function isStrings(a) {
  return Array.isArray(a) && a.every((s) => typeof s === 'string');
}
