// Holding a plugin's sealed output to the request and the input, as the CLI
// does (host/src/checked_seal.rs): csvseal's own component, never the
// plugin, digests the input (WIT `fidelity.input-digest`: its summary and
// the values digest of the rows csvseal would write) and verifies every
// byte the plugin emits while digesting the values of the rows it reads
// (`fidelity.digesting-verifier`). Each runs in its own fresh instance of
// the built-in component. Only seals through a plugin use this.

import { loadEngine } from './engine.js';
import { OutputCheckError, SealError } from './errors.js';
import { Report, sealFailure, sealSummary } from './report.js';

/** Starts both built-in checkers for a plugin seal with `wit` (the seal options record). */
export async function startFidelity(host, wit) {
  const engine = loadEngine({ memoryLimitBytes: host.memoryLimitBytes });
  const [digest, judge] = await Promise.all([
    engine.instance({ maxOutputBytes: host.maxOutputBytes }),
    engine.instance({ maxOutputBytes: host.maxOutputBytes }),
  ]);
  const verifyWit = { schemaJson: wit.schemaJson, limits: wit.limits };
  const shadow = digest.call(() => digest.exports.fidelity.InputDigest.create(wit));
  const verifier = judge.call(() => judge.exports.fidelity.DigestingVerifier.create(verifyWit));
  return new Fidelity(digest.call, shadow, judge.call, verifier, wit.firstSeq);
}

class Fidelity {
  #bytes = 0;

  constructor(digestCall, shadow, judgeCall, verifier, firstSeq) {
    this.digestCall = digestCall;
    this.shadow = shadow;
    this.judgeCall = judgeCall;
    this.verifier = verifier;
    this.firstSeq = firstSeq;
  }

  /** The next chunk of input, as the plugin is given it. */
  input(chunk) {
    this.digestCall(() => this.shadow.feed(chunk));
  }

  /** The next bytes the plugin emitted, before they go to the sink. */
  output(bytes) {
    if (bytes.length === 0) return;
    this.#bytes += bytes.length;
    this.judgeCall(() => this.verifier.feed(bytes));
  }

  /**
   * After the plugin's summary (`summary`, as the component returned it):
   * throws SealError if csvseal's own rules reject the input, and
   * OutputCheckError naming every check that failed.
   */
  finish(summary) {
    let expected, want;
    try {
      [expected, want] = this.digestCall(() => this.shadow.finish());
    } catch (e) {
      throw e?.payload === undefined ? e : new SealError(sealFailure(e.payload));
    }
    const [witReport, values] = this.judgeCall(() => this.verifier.finish());
    const report = Report.fromWit(witReport, this.#bytes);
    const failed = checks(report, witReport, values, expected, want, summary, this.firstSeq, this.#bytes);
    if (failed.length > 0) throw new OutputCheckError(failed, report);
  }
}

/** The checks that fail, each `{ check, message }`; empty when the output is faithful. */
function checks(report, r, values, expected, want, summary, firstSeq, bytes) {
  const failed = [];
  const fail = (check, message) => failed.push({ check, message });
  const show = (s) => (s === undefined ? 'none' : String(s));
  if (!r.valid) {
    const first = report.errors[0];
    const where = first ? `; first: line ${first.line}: ${first.kind}: ${first.message}` : '';
    fail('valid', `the plugin's output does not verify: ${report.error_count} error(s)${where}`);
  }
  if (r.firstSeq !== undefined && r.firstSeq !== firstSeq) {
    fail('first_seq', `the rows start at file_seq ${r.firstSeq}, the seal asked for ${firstSeq}`);
  }
  if (!sameStrings(r.columns, expected.columns)) {
    fail('columns', `the plugin wrote the columns ${JSON.stringify(r.columns)}; the input's are ${JSON.stringify(expected.columns)}`);
  }
  if (r.rows !== expected.rows || r.firstSeq !== expected.firstSeq || r.lastSeq !== expected.lastSeq) {
    fail(
      'rows',
      `the plugin wrote ${r.rows} rows, file_seq ${show(r.firstSeq)} to ${show(r.lastSeq)}; ` +
        `the input gives ${expected.rows} rows, file_seq ${show(expected.firstSeq)} to ${show(expected.lastSeq)}`,
    );
  }
  if (!sameBytes(values, want)) {
    fail('values', "the plugin's rows do not carry the input's values in order (a value altered, or a row dropped, added or moved)");
  }
  // The summary the caller gets must describe the bytes that were judged.
  if (
    summary.rows !== r.rows ||
    summary.firstSeq !== r.firstSeq ||
    summary.lastSeq !== r.lastSeq ||
    summary.bytes !== BigInt(bytes)
  ) {
    const s = sealSummary(summary);
    fail(
      'summary',
      `the plugin's summary (${s.rows} rows, file_seq ${show(s.first_seq)} to ${show(s.last_seq)}, ${s.bytes} bytes) ` +
        `is not its output (${r.rows} rows, file_seq ${show(r.firstSeq)} to ${show(r.lastSeq)}, ${bytes} bytes)`,
    );
  }
  return failed;
}

function sameStrings(a, b) {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

function sameBytes(a, b) {
  return a.length === 32 && b.length === 32 && a.every((x, i) => x === b[i]);
}
