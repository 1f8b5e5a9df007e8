// Reports in the one canonical shape every csvseal host shares: the
// per-file object of `csvseal verify --json` (snake_case, plain numbers, the
// CLI's field presence), and its canonical JSON text.

import { CsvsealError } from './errors.js';

/**
 * A u64 from the component as a JS value. Counts and line numbers are
 * always `number` (no real input reaches 2^53 bytes). `file_seq` values may
 * be anything up to 2^64-1: above Number.MAX_SAFE_INTEGER they stay
 * `bigint`, exact, rather than silently rounding.
 */
export function seqValue(v) {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function count(v) {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CsvsealError(`a count of ${v} does not fit a JS number exactly`);
  }
  return Number(v);
}

/** A row error, with `seq` and `column` present only when known (as the CLI). */
export function rowError(e) {
  const out = { kind: e.kind, line: count(e.line) };
  if (e.seq !== undefined) out.seq = seqValue(e.seq);
  if (e.column !== undefined) out.column = e.column;
  out.message = e.message;
  return out;
}

/** The result of verifying one input: the CLI's `verify --json` per-file object. */
export class Report {
  /** Builds a report from the component's record and the bytes fed. */
  static fromWit(r, bytes) {
    return Object.assign(new Report(), {
      valid: r.valid,
      rows: count(r.rows),
      first_seq: r.firstSeq === undefined ? null : seqValue(r.firstSeq),
      last_seq: r.lastSeq === undefined ? null : seqValue(r.lastSeq),
      columns: r.columns,
      gaps: r.gaps.map((g) => ({ line: count(g.line), after: seqValue(g.after), next: seqValue(g.next) })),
      gap_count: count(r.gapCount),
      errors: r.errors.map(rowError),
      error_count: count(r.errorCount),
      errors_truncated: r.errorsTruncated,
      warnings: r.warnings,
      bytes,
    });
  }

  /** Gives a plain object (e.g. one that crossed a Worker) the methods back. */
  static from(plain) {
    return Object.assign(new Report(), plain);
  }

  /** The canonical JSON text: byte-identical across csvseal's hosts. */
  toCanonicalJSON() {
    return canonicalJson(this);
  }
}

/** Seal's summary: the CLI's `write --json` fields (less `ok` and `path`). */
export function sealSummary(s) {
  return {
    columns: s.columns,
    rows: count(s.rows),
    first_seq: s.firstSeq === undefined ? null : seqValue(s.firstSeq),
    last_seq: s.lastSeq === undefined ? null : seqValue(s.lastSeq),
    bytes: count(s.bytes),
  };
}

export function sealFailure(f) {
  return {
    errors: f.errors.map(rowError),
    error_count: count(f.errorCount),
    errors_truncated: f.errorsTruncated,
  };
}

/**
 * Canonical JSON: object keys sorted, no whitespace, non-ASCII characters
 * as themselves, integers (number or bigint) as plain digits, one trailing
 * newline. Properties whose value is `undefined` are left out.
 */
export function canonicalJson(value) {
  return `${encode(value)}\n`;
}

function encode(v) {
  switch (typeof v) {
    case 'string':
      // JSON.stringify escapes exactly `"`, `\` and control characters, as
      // the canonical form does; everything else stays as itself.
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isSafeInteger(v)) throw new CsvsealError(`canonical JSON holds integers only, not ${v}`);
      return String(v);
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) return `[${v.map(encode).join(',')}]`;
      const keys = Object.keys(v)
        .filter((k) => v[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(v[k])}`).join(',')}}`;
    }
    default:
      throw new CsvsealError(`canonical JSON cannot hold a ${typeof v}`);
  }
}
