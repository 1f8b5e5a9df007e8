// Checks the caller's options and builds the component's option records.
// jco wraps out-of-range integers silently, so every range is checked here.

import { witFields } from '../gen/source.js';
import { chunkSize } from './chunks.js';
import { DEFAULT_MAX_OUTPUT, DEFAULT_MEMORY_LIMIT } from './engine.js';
import { OptionsError } from './errors.js';
import { checkComponent } from './plugin.js';
import { signatureOptions } from './signature.js';

const U32_MAX = 2 ** 32 - 1;
const U64_MAX = 2n ** 64n - 1n;

/** Options of this wrapper (not of the component's records). */
const HOST = ['chunkSize', 'memoryLimitBytes', 'maxOutputBytes', 'component', 'onProgress', 'signal'];
const LIMITS = ['maxErrors', 'maxRecordBytes', 'maxColumns'];

/** The wrapper's own settings: chunk size, engine, progress callback. */
export function hostOptions(o) {
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new OptionsError('onProgress must be a function');
  }
  const maxOutputBytes = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 1 << 20) {
    throw new OptionsError(`maxOutputBytes must be an integer of at least 1 MiB, got ${maxOutputBytes}`);
  }
  checkComponent(o.component);
  return {
    chunkSize: chunkSize(o.chunkSize),
    memoryLimitBytes: o.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT,
    maxOutputBytes,
    component: o.component,
    onProgress: o.onProgress,
  };
}

export function verifyOptions(o = {}, input = undefined) {
  const known = [...HOST, ...LIMITS, 'schema', 'signature', 'publicKey', 'fileName'];
  return {
    host: { ...hostOptions(check(o, known, 'VerifyOptions')), signature: signatureOptions(o, input) },
    wit: { ...passThrough(o, known, 'VerifyOptions'), schemaJson: schemaJson(o.schema), limits: limits(o) },
  };
}

export function sealOptions(o = {}) {
  const known = [...HOST, ...LIMITS, 'schema', 'format', 'header', 'firstSeq', 'output', 'delimiter', 'quote', 'hasHeader'];
  check(o, known, 'SealOptions');
  const format = o.format ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') throw new OptionsError(`format must be "csv" or "jsonl", got ${format}`);
  const header = o.header;
  if (header !== undefined && !(Array.isArray(header) && header.every((h) => typeof h === 'string'))) {
    throw new OptionsError('header must be an array of strings');
  }
  const output = o.output;
  if (output !== undefined && typeof output !== 'function' && !isWritable(output)) {
    throw new OptionsError('output must be a function or a WritableStream');
  }
  return {
    host: { ...hostOptions(o), output },
    wit: {
      ...passThrough(o, known, 'SealOptions'),
      format,
      dialect: dialect(o, format, header),
      header,
      schemaJson: schemaJson(o.schema),
      firstSeq: u64(o.firstSeq ?? 1, 'firstSeq'),
      limits: limits(o),
    },
  };
}

/**
 * The CSV input's dialect: `delimiter` and `quote` (one ASCII character
 * each), `hasHeader` (default: true unless `header` names the columns).
 * The one-column-header guard is on unless the delimiter was chosen.
 */
function dialect(o, format, header) {
  if (format !== 'csv' && (o.delimiter !== undefined || o.quote !== undefined || o.hasHeader !== undefined)) {
    throw new OptionsError('delimiter, quote and hasHeader describe CSV input, not format "jsonl"');
  }
  if (o.hasHeader !== undefined && typeof o.hasHeader !== 'boolean') throw new OptionsError('hasHeader must be a boolean');
  const delimiter = asciiByte(o.delimiter ?? ',', 'delimiter');
  const quote = asciiByte(o.quote ?? '"', 'quote');
  if (delimiter === quote) throw new OptionsError('delimiter and quote must differ');
  return { delimiter, quote, hasHeader: o.hasHeader ?? header === undefined, guardDelimiter: o.delimiter === undefined };
}

function asciiByte(c, name) {
  if (typeof c !== 'string' || c.length !== 1 || c.charCodeAt(0) > 0x7f || c === '\r' || c === '\n') {
    throw new OptionsError(`${name} must be one ASCII character other than CR and LF`);
  }
  return c.charCodeAt(0);
}

function limits(o) {
  return {
    maxErrors: u32(o.maxErrors ?? 1000, 'maxErrors'),
    maxRecordBytes: u64(o.maxRecordBytes ?? 64 << 20, 'maxRecordBytes'),
    maxColumns: u32(o.maxColumns ?? 100_000, 'maxColumns'),
  };
}

/** A schema as JSON text: given as text, or as an object we serialize. */
function schemaJson(schema) {
  if (schema === undefined || schema === null) return undefined;
  if (typeof schema === 'string') return schema;
  if (typeof schema === 'object') return JSON.stringify(schema);
  throw new OptionsError('schema must be JSON text or an object');
}

/** Rejects keys that are neither ours nor fields of the WIT record. */
function check(o, known, record) {
  if (o === null || typeof o !== 'object') throw new OptionsError('options must be an object');
  for (const k of Object.keys(o)) {
    if (!known.includes(k) && !(witFields[record] ?? []).includes(k)) {
      throw new OptionsError(`unknown option ${JSON.stringify(k)}`);
    }
  }
  return o;
}

/**
 * Fields the contract gained after this wrapper was written (jco's
 * camelCase names, e.g. input dialect options): passed through as given.
 */
function passThrough(o, known, record) {
  const out = {};
  for (const k of witFields[record] ?? []) {
    if (!known.includes(k) && o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

function u32(v, name) {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) {
    throw new OptionsError(`${name} must be an integer from 0 to ${U32_MAX}, got ${v}`);
  }
  return v;
}

function u64(v, name) {
  const ok = typeof v === 'bigint' || Number.isSafeInteger(v);
  if (!ok || BigInt(v) < 0n || BigInt(v) > U64_MAX) {
    throw new OptionsError(`${name} must be an integer from 0 to 2^64-1 (a bigint above 2^53), got ${v}`);
  }
  return BigInt(v);
}

function isWritable(x) {
  return typeof WritableStream !== 'undefined' && x instanceof WritableStream;
}
