// A plugin's sealed output is held to the request and the input by
// csvseal's own component (src/fidelity.js), as the CLI does: in this
// thread, through sealStream and in a CsvsealWorker. A plain seal runs no
// such check.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../src/engine.js';
import { OutputCheckError, Report, SealError, createWorker, seal, sealStream, verify } from '../src/index.js';
import { pluginUrl } from './plugins.js';

const input = new TextEncoder().encode('symbol,qty\nAAPLXX,1\nMSFTXX,2\nGOOGXX,3\n');
const firstSeq = 10;

/** Each hostile plugin and the check its output must fail. */
const hostile = [
  ['hostile-ignore-start-seq', 'first_seq'],
  ['hostile-drop-row', 'rows'],
  ['hostile-alter-value', 'values'],
];

function rejectedFor(check) {
  return (e) => {
    assert.ok(e instanceof OutputCheckError, `${e.name}: ${e.message}`);
    assert.ok(
      e.failed.some((f) => f.check === check),
      `expected the ${check} check to fail: ${JSON.stringify(e.failed)}`,
    );
    assert.ok(e.report instanceof Report);
    assert.match(e.message, new RegExp(`${check}: `));
    return true;
  };
}

for (const [name, check] of hostile) {
  test(`${name}: seal() rejects its output (${check}) and returns no sealed data`, async () => {
    await assert.rejects(seal(input, { component: pluginUrl(name), firstSeq }), rejectedFor(check));
  });

  test(`${name}: a streaming consumer gets the bytes so far, then an error instead of a clean end`, async () => {
    // A callback sink is handed the plugin's bytes as they are made; the
    // verdict comes after the last of them.
    const given = [];
    await assert.rejects(
      seal(input, { component: pluginUrl(name), firstSeq, output: (b) => given.push(b.slice()) }),
      rejectedFor(check),
    );
    assert.ok(given.length > 0, 'the bytes made before the verdict were handed to the sink');
    // A stream errors instead of ending.
    const { writable, readable, summary } = sealStream({ component: pluginUrl(name), firstSeq });
    const body = new Response(readable).arrayBuffer();
    const w = writable.getWriter();
    w.write(input).catch(() => {});
    w.close().catch(() => {});
    await assert.rejects(summary, rejectedFor(check));
    await assert.rejects(body);
  });
}

test('in a CsvsealWorker, every hostile plugin is rejected and the error crosses back typed', async () => {
  const worker = await createWorker();
  try {
    for (const [name, check] of hostile) {
      await assert.rejects(worker.seal(input, { component: pluginUrl(name), firstSeq }), rejectedFor(check));
      // With a WritableStream sink: it is aborted, never closed.
      let closed = false;
      const output = new WritableStream({ write() {}, close: () => void (closed = true) });
      await assert.rejects(worker.seal(input, { component: pluginUrl(name), firstSeq, output }), rejectedFor(check));
      assert.equal(closed, false, `${name}: the sink was closed as if the seal succeeded`);
    }
  } finally {
    worker.terminate();
  }
});

test('the example plugin still seals, in this thread and in a Worker, and its output verifies', async () => {
  const component = pluginUrl('row-rule');
  const worker = await createWorker();
  try {
    for (const result of [await seal(input, { component, firstSeq }), await worker.seal(input, { component, firstSeq })]) {
      assert.deepEqual(result.summary.columns, ['file_seq', 'symbol', 'qty', 'checksum_sha256']);
      assert.equal(result.summary.rows, 3);
      assert.equal(result.summary.first_seq, firstSeq);
      const report = await verify(result.data);
      assert.equal(report.valid, true);
      assert.equal(report.rows, 3);
      assert.equal(report.first_seq, firstSeq);
      // The same bytes as csvseal's own sealer makes of the input.
      assert.deepEqual(result.data, (await seal(input, { firstSeq })).data);
    }
  } finally {
    worker.terminate();
  }
});

test('only a plugin seal starts the built-in checkers: a plain seal runs one component instance', async (t) => {
  let instances = 0;
  const original = Engine.prototype.instance;
  t.mock.method(Engine.prototype, 'instance', function (...args) {
    instances += 1;
    return original.apply(this, args);
  });
  await seal(input, { firstSeq });
  assert.equal(instances, 1, 'a plain seal: the sealer only');
  instances = 0;
  await seal(input, { component: pluginUrl('row-rule'), firstSeq });
  assert.equal(instances, 3, 'a plugin seal: the plugin, the input digest and the digesting verifier');
});

test('a plugin that refuses the input is a SealError, as csvseal\'s own sealer\'s refusal', async () => {
  // row-rule refuses symbols that are not six uppercase letters.
  const bad = new TextEncoder().encode('symbol,qty\nAAPL,1\n');
  await assert.rejects(seal(bad, { component: pluginUrl('row-rule') }), (e) => {
    assert.ok(e instanceof SealError, `${e?.name}: ${e?.message}`);
    assert.equal(e.errors[0].kind, 'schema');
    return true;
  });
});

test('in a Worker, no byte reaches output once the call has rejected', async () => {
  // Many chunks of output and a slow sink: some are still queued for the
  // sink when the verdict arrives; they are dropped, not delivered late.
  const rows = Array.from({ length: 40_000 }, (_, i) => `SYMB${String.fromCharCode(65 + (i % 26))}X,${i}`).join('\n');
  const big = new TextEncoder().encode(`symbol,qty\n${rows}\n`);
  const worker = await createWorker();
  let given = 0;
  let settled = false;
  let late = 0;
  const output = async (b) => {
    if (settled) late += b.length;
    given += b.length;
    await new Promise((r) => setTimeout(r, 30));
  };
  try {
    await assert.rejects(
      worker.seal(big, { component: pluginUrl('hostile-drop-row'), firstSeq, chunkSize: 64 << 10, output }),
      rejectedFor('rows'),
    );
    settled = true;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(given > 0);
    assert.equal(late, 0, 'bytes were handed to output after the rejection');
  } finally {
    worker.terminate();
  }
});

test('a plugin whose summary is not its output is rejected (summary), in this thread and in a Worker', async () => {
  // hostile-lying-summary seals correctly but claims one row more.
  const component = pluginUrl('hostile-lying-summary');
  await assert.rejects(seal(input, { component, firstSeq }), rejectedFor('summary'));
  const worker = await createWorker();
  try {
    await assert.rejects(worker.seal(input, { component, firstSeq }), rejectedFor('summary'));
  } finally {
    worker.terminate();
  }
});
