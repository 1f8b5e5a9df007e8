// Typed errors: one class per kind of failure, so callers can `instanceof`
// them. Bad *content* is never an error: verify returns a report for it.
// Every class survives a trip through a Worker (see toWire/fromWire).

import { Report } from './report.js';

/** Base class of every error csvseal throws. */
export class CsvsealError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option has the wrong type or is out of range; nothing was read. */
export class OptionsError extends CsvsealError {}

/** The input is not one of the accepted types, or reading it failed. */
export class InputError extends CsvsealError {}

/** The component refused the Table Schema (or a seal header). */
export class SchemaError extends CsvsealError {}

/** A resource limit stopped the component: `limit` is "memory", "cpu" or "output". */
export class LimitError extends CsvsealError {
  constructor(limit, message) {
    super(message);
    this.limit = limit;
  }
}

/** A call into the component (in a Worker) ran longer than `timeoutMs`. */
export class TimeoutError extends LimitError {
  constructor(message) {
    super('cpu', message);
  }
}

/** The component trapped (a bug in it, or a hostile plugin). */
export class SandboxError extends CsvsealError {}

/** The caller's AbortSignal fired; the Worker running the call was ended. */
export class AbortError extends CsvsealError {}

/**
 * Seal refused the input. Nothing it emitted is a sealed file: discard it.
 * `errors`, `error_count` and `errors_truncated` are as in a verify report.
 */
export class SealError extends CsvsealError {
  constructor(failure) {
    const first = failure.errors[0];
    const where = first ? `line ${first.line}: ${first.kind}: ${first.message}` : 'no details';
    super(`seal failed with ${failure.error_count} error(s); first: ${where}`);
    this.errors = failure.errors;
    this.error_count = failure.error_count;
    this.errors_truncated = failure.errors_truncated;
  }
}

/**
 * A plugin's sealed output failed csvseal's own check (as the CLI's
 * "written file invalid"): it does not verify, does not start at the
 * `firstSeq` asked for, or does not carry the input's columns, rows,
 * `file_seq`s and values. Nothing it emitted is a sealed file: discard it.
 * `failed` lists each check that failed as `{ check, message }` (`check`
 * is "valid", "first_seq", "columns", "rows", "values" or "summary");
 * `report` is the built-in verifier's report on the plugin's output.
 */
export class OutputCheckError extends CsvsealError {
  constructor(failed, report) {
    super(`the plugin's sealed output failed csvseal's check: ${failed.map((f) => `${f.check}: ${f.message}`).join('; ')}`);
    this.failed = failed;
    this.report = report;
  }
}

const classes = {
  CsvsealError,
  OptionsError,
  InputError,
  SchemaError,
  LimitError,
  TimeoutError,
  SandboxError,
  AbortError,
  SealError,
  OutputCheckError,
};

/** A structured-cloneable form of an error, for postMessage. */
export function toWire(e) {
  if (!(e instanceof Error)) return { name: 'CsvsealError', message: String(e) };
  return { ...e, name: e.name, message: e.message };
}

/** Rebuilds the typed error a Worker sent. */
export function fromWire(w) {
  let e;
  switch (w.name) {
    case 'SealError':
      return new SealError(w);
    case 'OutputCheckError':
      return new OutputCheckError(w.failed, Report.from(w.report));
    case 'LimitError':
      e = new LimitError(w.limit, w.message);
      break;
    case 'TimeoutError':
      e = new TimeoutError(w.message);
      break;
    default:
      e = new (classes[w.name] ?? CsvsealError)(w.message);
  }
  return e;
}
