// The package's API apart from the conformance cases: chunking, options
// and input errors, seal, rowChecksum, progress, and gen/ freshness.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { componentSha256, jcoVersion } from '../gen/source.js';
import { chunks } from '../src/chunks.js';
import {
  InputError,
  MAX_CHUNK,
  MIN_CHUNK,
  OptionsError,
  SchemaError,
  SealError,
  canonicalJson,
  createWorker,
  rowChecksum,
  seal,
  sealStream,
  verify,
} from '../src/index.js';
import { loadCases } from './cases.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const cases = loadCases();
const byName = (n) => cases.find((c) => c.name === n);

test('gen/ was transpiled from the committed component by the pinned jco', () => {
  const wasm = readFileSync(new URL('../../../host/assets/csvseal_guest.wasm', import.meta.url));
  assert.equal(componentSha256, createHash('sha256').update(wasm).digest('hex'), 'gen/ is stale: run `npm run build`');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));
  assert.equal(jcoVersion, pkg.devDependencies['@bytecodealliance/jco']);
});

/** A sealed file of `rows` rows, made by this package. */
async function sealedFile(rows) {
  const lines = ['symbol,price,note'];
  for (let i = 0; i < rows; i++) lines.push(`SYM${i % 97},${(i * 0.25).toFixed(2)},"row ${i}, with ""quotes"" and é"`);
  const { data, summary } = await seal(enc.encode(`${lines.join('\n')}\n`));
  assert.equal(summary.rows, rows);
  return data;
}

describe('chunking', () => {
  test('every chunk but the last is exactly chunkSize, whatever the pieces', async () => {
    const all = new Uint8Array(3 * MAX_CHUNK + 12345).map((_, i) => i * 7);
    for (const size of [MIN_CHUNK, 100_003, MAX_CHUNK]) {
      for (const pieceSize of [1, 1000, MIN_CHUNK - 1, MAX_CHUNK + 1, 5 * MAX_CHUNK]) {
        // Byte-sized pieces over a few chunks only: a generator step per byte is slow.
        const bytes = pieceSize === 1 ? all.subarray(0, 2 * MIN_CHUNK + 17) : all;
        const pieces = (async function* () {
          for (let at = 0; at < bytes.length; at += pieceSize) yield bytes.slice(at, at + pieceSize);
        })();
        const seen = [];
        const joined = [];
        for await (const c of chunks(pieces, size)) {
          seen.push(c.length);
          joined.push(c.slice());
        }
        assert.ok(seen.slice(0, -1).every((n) => n === size), `size ${size}, pieces ${pieceSize}: ${seen}`);
        assert.ok(seen.at(-1) > 0 && seen.at(-1) <= size);
        assert.deepEqual(Buffer.concat(joined), Buffer.from(bytes));
      }
    }
  });

  test('any chunk size gives the same report, and progress counts every byte fed', async () => {
    const data = await sealedFile(60_000); // ~6 MiB
    // Damage one row in the middle: its line must be found whatever the split.
    const at = Buffer.from(data.buffer, data.byteOffset, data.length).indexOf('\n30000,');
    data[at + 10] ^= 1;
    let reference;
    for (const chunkSize of [MIN_CHUNK, 300_007, MAX_CHUNK]) {
      const progress = [];
      const report = await verify(new Blob([data]), { chunkSize, onProgress: (n) => progress.push(n) });
      assert.equal(report.rows, 60_000);
      assert.equal(report.error_count, 1);
      assert.equal(report.errors[0].line, 30_001);
      assert.equal(report.errors[0].seq, 30_000);
      assert.equal(report.bytes, data.length);
      assert.equal(progress.at(-1), data.length);
      assert.equal(progress.length, Math.ceil(data.length / chunkSize), 'one component call per chunk');
      reference ??= canonicalJson(report);
      assert.equal(canonicalJson(report), reference, `chunkSize ${chunkSize}`);
    }
  });
});

describe('bad options and inputs are typed errors', () => {
  const bad = [
    [{ chunkSize: MIN_CHUNK - 1 }, /chunkSize/],
    [{ chunkSize: MAX_CHUNK + 1 }, /chunkSize/],
    [{ chunkSize: MIN_CHUNK + 0.5 }, /chunkSize/],
    [{ maxErrors: -1 }, /maxErrors/],
    [{ maxErrors: 2 ** 32 }, /maxErrors/],
    [{ maxErrors: '3' }, /maxErrors/],
    [{ maxRecordBytes: -5 }, /maxRecordBytes/],
    [{ maxColumns: 0.5 }, /maxColumns/],
    [{ memoryLimitBytes: 1000 }, /memoryLimitBytes/],
    [{ onProgress: 'yes' }, /onProgress/],
    [{ schema: 42 }, /schema/],
    [{ max_errors: 3 }, /unknown option "max_errors"/],
  ];
  for (const [options, message] of bad) {
    test(`verify(${JSON.stringify(options)})`, async () => {
      await assert.rejects(verify(enc.encode('a\n'), options), (e) => e instanceof OptionsError && message.test(e.message));
    });
  }

  test('seal options', async () => {
    const input = enc.encode('a\n1\n');
    await assert.rejects(seal(input, { format: 'xml' }), OptionsError);
    await assert.rejects(seal(input, { header: 'a,b' }), OptionsError);
    await assert.rejects(seal(input, { firstSeq: -1 }), OptionsError);
    await assert.rejects(seal(input, { firstSeq: 2 ** 53 + 2 }), OptionsError, 'unsafe numbers are refused, not rounded');
    await assert.rejects(seal(input, { output: 'file.csv' }), OptionsError);
  });

  test('the Worker checks options before reading anything', async () => {
    const worker = await createWorker();
    let pulled = false;
    const input = (async function* () {
      pulled = true;
      yield enc.encode('a\n');
    })();
    await assert.rejects(worker.verify(input, { maxErrors: -1 }), OptionsError);
    assert.equal(pulled, false);
    await assert.rejects(worker.verify(enc.encode('a\n'), { schema: '{' }), SchemaError);
    worker.terminate();
  });

  test('an unreadable schema is a SchemaError', async () => {
    await assert.rejects(verify(enc.encode('a\n'), { schema: '{"fields": 3' }), SchemaError);
    await assert.rejects(verify(enc.encode('a\n'), { schema: { fields: [{ name: 'x', type: 'nope' }] } }), SchemaError);
  });

  test('inputs that are not bytes', async () => {
    for (const input of ['a,b\n', 42, null, undefined, { length: 3 }, [1, 2]]) {
      await assert.rejects(verify(input), InputError, String(input));
    }
    const strings = (async function* () {
      yield 'a,b\n';
    })();
    await assert.rejects(verify(strings), (e) => e instanceof InputError && /Uint8Array chunks/.test(e.message));
    const failing = new ReadableStream({
      pull(c) {
        c.error(new Error('disk on fire'));
      },
    });
    await assert.rejects(verify(failing), (e) => e instanceof InputError && /disk on fire/.test(e.message));
  });

  test('bad content is a report, never an exception', async () => {
    const garbage = new Uint8Array(200_000).map((_, i) => (i * 2654435761) >>> 24);
    const report = await verify(garbage);
    assert.equal(report.valid, false);
    assert.ok(report.errors.length > 0);
    assert.ok(report.errors.every((e) => typeof e.line === 'number' && typeof e.kind === 'string'));
  });
});

describe('seal', () => {
  test('sealed bytes verify, as a whole and through sealStream', async () => {
    const data = await sealedFile(5000);
    const report = await verify(data);
    assert.equal(report.valid, true);
    assert.equal(report.rows, 5000);
    assert.deepEqual([report.first_seq, report.last_seq], [1, 5000]);

    const { writable, readable, summary } = sealStream({ firstSeq: 10 });
    const w = writable.getWriter();
    w.write(enc.encode('a,b\n1,2\n'));
    w.write(enc.encode('3,4\n'));
    w.close();
    const out = dec.decode(await new Response(readable).arrayBuffer());
    assert.deepEqual(await summary, { columns: ['file_seq', 'a', 'b', 'checksum_sha256'], rows: 2, first_seq: 10, last_seq: 11, bytes: enc.encode(out).length });
    assert.match(out, /^file_seq,a,b,checksum_sha256\r?\n10,1,2,[0-9a-f]{64}\r?\n11,3,4,[0-9a-f]{64}\r?\n$/);
  });

  test('a ;-separated, quote-\'d or headerless input seals like the comma CSV', async () => {
    const want = Buffer.from((await seal(enc.encode('a,b\n"x, y",2\n'))).data);
    const cases = [
      ['a;b\n"x, y";2\n', { delimiter: ';' }],
      ["a\tb\n'x, y'\t2\n", { delimiter: '\t', quote: "'" }],
      ['"x, y",2\n', { header: ['a', 'b'] }],
    ];
    for (const [input, options] of cases) {
      assert.deepEqual(Buffer.from((await seal(enc.encode(input), options)).data), want, input);
    }
    // Unless the delimiter is chosen, a one-column header holding ';' is refused.
    await assert.rejects(seal(enc.encode('a;b\n1;2\n')), SealError);
    await assert.rejects(seal(enc.encode('a,b\n'), { delimiter: ';;' }), OptionsError);
    await assert.rejects(seal(enc.encode('{}\n'), { format: 'jsonl', delimiter: ';' }), OptionsError);
  });

  test('seal refuses bad rows with every error, typed', async () => {
    await assert.rejects(seal(enc.encode('a,b\n1,2\n3\n4,5,6\n')), (e) => {
      assert.ok(e instanceof SealError);
      assert.equal(e.error_count, 2);
      assert.deepEqual(e.errors.map((x) => [x.line, x.kind]), [[3, 'malformed'], [4, 'malformed']]);
      assert.match(e.message, /line 3/);
      return true;
    });
  });

  test('the Worker seals the same bytes, streamed to a callback', async () => {
    const input = enc.encode('x,y\n"a, b",2\n');
    const direct = await seal(input);
    const worker = await createWorker();
    const parts = [];
    const viaWorker = await worker.seal(new Blob([input]), { output: (b) => parts.push(b) });
    worker.terminate();
    assert.deepEqual(viaWorker.summary, direct.summary);
    assert.deepEqual(Buffer.concat(parts), Buffer.from(direct.data));
  });
});

test('rowChecksum is the policy checksum stored in the suite files', async () => {
  const lines = dec.decode(byName('valid-policy-example').input).trim().split(/\r?\n/);
  const header = lines[0].split(',');
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    const stored = fields[header.indexOf('checksum_sha256')];
    assert.equal(await rowChecksum(header, fields), stored);
  }
  await assert.rejects(rowChecksum(['a', 'b'], ['1']), OptionsError);
  await assert.rejects(rowChecksum('a', ['1']), OptionsError);
});
