// The conformance suite (tests/conformance/cases), read for the JS tests:
// each case's input bytes, its options as this package spells them, and
// the expected canonical JSON text.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CASES_DIR = fileURLToPath(new URL('../../../tests/conformance/cases/', import.meta.url));

/** `options.json` (the suite's snake_case keys) as verify() options. */
export function caseOptions(json) {
  const out = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === 'max_errors') out.maxErrors = v;
    else if (k === 'max_record_mib') out.maxRecordBytes = v * 1048576;
    else throw new Error(`options.json key ${k} is not known to the JS tests`);
  }
  return out;
}

export function loadCases() {
  const cases = readdirSync(CASES_DIR)
    .sort()
    .map((name) => {
      const file = (f) => `${CASES_DIR}${name}/${f}`;
      const options = existsSync(file('options.json')) ? caseOptions(JSON.parse(readFileSync(file('options.json')))) : {};
      if (existsSync(file('schema.json'))) options.schema = readFileSync(file('schema.json'), 'utf8');
      // Signed cases: checked with keys.pub; the signature is input.csv.minisig
      // (absent: the "missing" case), the file's name input.csv.
      if (existsSync(file('keys.pub'))) {
        options.publicKey = readFileSync(file('keys.pub'), 'utf8');
        options.fileName = 'input.csv';
        options.signature = existsSync(file('input.csv.minisig')) ? readFileSync(file('input.csv.minisig'), 'utf8') : null;
      }
      return {
        name,
        input: new Uint8Array(readFileSync(file('input.csv'))),
        options,
        hasSchema: existsSync(file('schema.json')),
        expected: readFileSync(file('expected.json'), 'utf8'),
      };
    });
  if (cases.length < 20) throw new Error(`only ${cases.length} conformance cases found in ${CASES_DIR}`);
  return cases;
}
