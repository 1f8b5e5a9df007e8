// Every conformance case, through every input type the package accepts:
// the canonical JSON must be byte-identical to expected.json.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, createWorker, verify } from '../src/index.js';
import { loadCases } from './cases.js';

const cases = loadCases();

/** The same bytes as each input type verify() accepts. */
export const inputTypes = {
  Uint8Array: (b) => b,
  ArrayBuffer: (b) => b.slice().buffer,
  Blob: (b) => new Blob([b]),
  ReadableStream: (b) =>
    new ReadableStream({
      start(c) {
        // Uneven pieces, to exercise coalescing.
        const n = piece(b, 7);
        for (let at = 0; at < b.length; at += n) c.enqueue(b.slice(at, at + n));
        c.close();
      },
    }),
  AsyncIterable: (b) =>
    (async function* () {
      const n = piece(b, 3);
      for (let at = 0; at < b.length; at += n) yield b.slice(at, at + n);
    })(),
};

/** Tiny pieces, but not a million of them for the 1 MiB case. */
function piece(b, small) {
  return b.length > 100_000 ? 4093 : small;
}

describe('conformance: verify() gives expected.json byte for byte', () => {
  for (const c of cases) {
    test(c.name, async () => {
      for (const [type, make] of Object.entries(inputTypes)) {
        const report = await verify(make(c.input), c.options);
        assert.equal(canonicalJson(report), c.expected, `${c.name} as ${type}`);
        assert.equal(report.toCanonicalJSON(), c.expected);
      }
    });
  }
});

test('conformance: the Worker gives expected.json byte for byte', async () => {
  const worker = await createWorker({ timeoutMs: 30_000 });
  try {
    for (const c of cases) {
      const report = await worker.verify(new Blob([c.input]), c.options);
      assert.equal(canonicalJson(report), c.expected, c.name);
    }
  } finally {
    worker.terminate();
  }
});

test('u64 file_seq values above 2^53 stay exact (bigint), small ones are numbers', async () => {
  const c = cases.find((x) => x.name === 'valid-large-seq');
  const report = await verify(c.input);
  assert.equal(report.first_seq, 1);
  assert.equal(report.last_seq, 18446744073709551615n);
  assert.equal(report.gaps[0].next, 9007199254740993n);
  assert.equal(typeof report.rows, 'number');
});
