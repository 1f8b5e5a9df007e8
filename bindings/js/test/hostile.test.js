// Misbehaving components: a runaway call is terminated by the Worker's
// timeout, a memory hog is stopped by the cap, a trap is a typed error, and
// the process (and the next call) carries on.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortError,
  LimitError,
  SandboxError,
  TimeoutError,
  canonicalJson,
  createWorker,
  seal,
  sealStream,
  verify,
} from '../src/index.js';
import { loadCases } from './cases.js';
import { pluginUrl } from './plugins.js';

const validBasic = loadCases().find((c) => c.name === 'valid-basic');

/** OS threads of this process (Linux): a terminated Worker's thread is gone. */
function threads() {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
}

async function until(f, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (f()) return true;
  return f();
}

test('the Worker timeout terminates a call that loops forever', { skip: !existsSync('/proc/self/status') }, async () => {
  await readFile(new URL(import.meta.url)); // libuv's thread pool starts now, not mid-count
  const before = threads();
  const worker = await createWorker({ timeoutMs: 1500 });
  assert.ok(threads() > before, 'the Worker runs on its own thread');
  const component = pluginUrl('hostile-loop-forever');
  await worker.rowChecksum(['a'], ['1'], { component }); // transpiled and compiled: the clock below is the call's
  const started = Date.now();
  await assert.rejects(worker.verify(validBasic.input, { component }), (e) => {
    assert.ok(e instanceof TimeoutError, `${e.name}: ${e.message}`);
    assert.ok(e instanceof LimitError);
    assert.equal(e.limit, 'cpu');
    return true;
  });
  assert.ok(Date.now() - started >= 1400, 'not (much) before the timeout: timers may round by a few ms');
  // The looping thread is really gone, not just abandoned.
  assert.ok(await until(() => threads() <= before, 10_000), `threads: ${threads()}, before the Worker: ${before}`);
  // The same CsvsealWorker starts a fresh Worker for the next call.
  const report = await worker.verify(validBasic.input);
  assert.equal(canonicalJson(report), validBasic.expected);
  worker.terminate();
});

test('an AbortSignal terminates a looping call in the Worker', async () => {
  const worker = await createWorker({ timeoutMs: 60_000, component: pluginUrl('hostile-loop-forever') });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('user cancelled')), 300);
  await assert.rejects(worker.verify(validBasic.input, { signal: controller.signal }), AbortError);
  worker.terminate();
});

test('the memory cap stops a component that allocates without end', async () => {
  const limit = 64 << 20;
  await assert.rejects(
    verify(validBasic.input, { component: pluginUrl('hostile-grow-memory'), memoryLimitBytes: limit }),
    (e) => {
      assert.ok(e instanceof LimitError, `${e.name}: ${e.message}`);
      assert.equal(e.limit, 'memory');
      // The component's memory really stopped at the cap (without it, it
      // would grow to 4 GiB before failing).
      const used = Number(/(\d+) MiB in use/.exec(e.message)[1]);
      assert.ok(used <= 64, e.message);
      return true;
    },
  );
  // In a Worker too, and the error crosses back typed.
  const worker = await createWorker({ component: pluginUrl('hostile-grow-memory'), memoryLimitBytes: limit });
  await assert.rejects(worker.verify(validBasic.input), (e) => e instanceof LimitError && e.limit === 'memory');
  worker.terminate();
  // The built-in engine is unaffected.
  assert.equal(canonicalJson(await verify(validBasic.input)), validBasic.expected);
});

test('a component that traps is a SandboxError; no sealed file comes out, and a stream errors instead of ending', async () => {
  const input = new TextEncoder().encode('a,b\n1,2\n');
  const component = pluginUrl('hostile-trap-midway');
  await assert.rejects(seal(input, { component }), SandboxError);

  const { writable, readable, summary } = sealStream({ component });
  const w = writable.getWriter();
  w.write(input).catch(() => {});
  w.close().catch(() => {});
  const body = new Response(readable).arrayBuffer(); // read as it is made, as a stream's reader does
  await assert.rejects(summary, SandboxError);
  // A reader of the sealed stream sees an error, never a clean end.
  await assert.rejects(body);
});
