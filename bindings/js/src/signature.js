// Checking a file's minisign signature alongside verify, as the CLI's
// `verify --key` does: csvseal's own component (WIT `signature`), in its own
// fresh instance, hashes the same chunks the verifier reads, checks the
// Ed25519 signatures and holds the signed claims to what verify found. This
// file only passes texts, bytes and facts; every check is in the component.

import { loadEngine } from './engine.js';
import { OptionsError } from './errors.js';
import { count, seqValue } from './report.js';

/**
 * The signature options of verify, checked: null when none were given,
 * else `{ signature, keys, fileName }` (`signature` undefined: missing).
 */
export function signatureOptions(o, input) {
  const { signature, publicKey, fileName } = o;
  if (publicKey === undefined || publicKey === null) {
    if (signature !== undefined && signature !== null) {
      throw new OptionsError('signature needs publicKey: the public key (or keyring) text(s) to check it with');
    }
    return null;
  }
  const keys = typeof publicKey === 'string' ? [publicKey] : publicKey;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) {
    throw new OptionsError('publicKey must be a public key or keyring text, or a non-empty array of them');
  }
  if (signature !== undefined && signature !== null && typeof signature !== 'string') {
    throw new OptionsError('signature must be the text of a .minisig file');
  }
  const name = fileName ?? (typeof input?.name === 'string' ? input.name : undefined);
  if (name !== undefined && typeof name !== 'string') throw new OptionsError('fileName must be a string');
  return { signature: signature ?? undefined, keys, fileName: name };
}

/**
 * Starts the check (`{ missing: true }` when `sig.signature` is missing). Unreadable keys
 * throw OptionsError before any byte is read.
 */
export async function startSignature(host, sig) {
  const { exports, call } = await loadEngine({ memoryLimitBytes: host.memoryLimitBytes }).instance({
    maxOutputBytes: host.maxOutputBytes,
  });
  try {
    if (sig.signature !== undefined) {
      const check = call(() => exports.signature.SignatureCheck.create(sig.signature, sig.keys));
      return { call, check, fileName: sig.fileName };
    }
    // No signature to check, but the keys are read all the same, so a bad
    // key fails either way.
    let n = 0;
    for (const k of sig.keys) n += call(() => exports.signature.publicKeyIds(k)).length;
    if (n === 0) throw new OptionsError('public key: no public key given (the key texts hold no key)');
    return { missing: true, fileName: sig.fileName };
  } catch (e) {
    if (e?.payload !== undefined) throw new OptionsError(/^public key/.test(e.payload) ? e.payload : `public key: ${e.payload}`);
    throw e;
  }
}

/** Feeds the next chunk (the one the verifier was fed). */
export function feedSignature(s, chunk) {
  if (s !== undefined && !s.missing) s.call(() => s.check.feed(chunk));
}

/**
 * Ends the check against the verify report's facts (`r`: the component's
 * report record) and adds its outcome to `report`, as the CLI does: a
 * `signature` object, and unless valid an error at line 0 and `valid: false`.
 */
export function finishSignature(s, r, report, maxErrors) {
  if (s.missing) {
    return addOutcome(report, {
      status: 'missing',
      key_id: null,
      claims: null,
      blake2b: null,
      // The CLI's words when the name is known (it looked for NAME.minisig).
      message: s.fileName === undefined
        ? 'no signature was given (the signature option: the text of NAME.csv.minisig)'
        : `${s.fileName} has no signature (${s.fileName}.minisig)`,
    }, maxErrors);
  }
  const facts = (fileName) => ({ fileName, rows: r.rows, firstSeq: r.firstSeq, lastSeq: r.lastSeq });
  let w;
  if (s.fileName !== undefined) {
    w = s.call(() => s.check.finish(facts(s.fileName)));
  } else {
    // No name known: the claims are held to everything else (a second
    // finish judges the same bytes again).
    w = s.call(() => s.check.finish(undefined));
    if (w.claims !== undefined) w = s.call(() => s.check.finish(facts(w.claims.fileName)));
  }
  return addOutcome(report, {
    status: w.status,
    key_id: w.keyId ?? null,
    claims: w.claims === undefined ? null : claims(w.claims),
    blake2b: w.blake2b,
    message: w.message,
  }, maxErrors);
}

const KINDS = { missing: 'signature-missing', malformed: 'signature-invalid', invalid: 'signature-invalid', 'unknown-key': 'unknown-key' };

// As the CLI: the error is about the whole file (line 0), so it comes
// first, within the error cap.
function addOutcome(report, signature, maxErrors) {
  report.signature = signature;
  if (signature.status !== 'valid') {
    report.valid = false;
    report.errors.unshift({ kind: KINDS[signature.status], line: 0, message: signature.message });
    report.error_count += 1;
    const cap = Math.max(maxErrors ?? 1000, 1);
    if (report.errors.length > cap) {
      report.errors.length = cap;
      report.errors_truncated = true;
    }
  }
  return report;
}

/** Signed claims in the CLI's JSON shape. */
function claims(c) {
  return {
    file_name: c.fileName,
    rows: count(c.rows),
    first_seq: c.firstSeq === undefined ? null : seqValue(c.firstSeq),
    last_seq: c.lastSeq === undefined ? null : seqValue(c.lastSeq),
    blake2b: c.blake2b,
    previous: c.previous === undefined ? null : { file_name: c.previous.fileName, blake2b: c.previous.blake2b },
  };
}
