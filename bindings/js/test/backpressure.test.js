// A CsvsealWorker seal into a slow sink holds only a few chunks, not the
// input or the sealed output: the main thread sends input only while the
// Worker is at most two chunks ahead and the sink has caught up. Measured
// in a child process (test/slow-sink-child.js), so other tests' memory
// does not count.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./slow-sink-child.js', import.meta.url));

test('a Worker seal into a slow sink stays under an RSS ceiling', { skip: !existsSync('/proc/self/status') }, () => {
  // 32 MiB in, ~105 MiB sealed out, 60 ms per write: the Worker outruns
  // the sink. Without backpressure the peak rose by ~100 MiB (the whole
  // backlog), with the input bound alone by ~70 MiB; with both, ~20 MiB.
  const out = execFileSync(process.execPath, ['--expose-gc', child, '32', '60'], { encoding: 'utf8' });
  const { growthMiB, rows, written } = JSON.parse(out);
  assert.equal(rows, 32 << 15, 'every row was sealed');
  assert.ok(written > 100 << 20, `written: ${written}`);
  assert.ok(growthMiB < 40, `peak RSS rose by ${growthMiB.toFixed(1)} MiB during the seal; the ceiling is 40 MiB`);
});

test('a sink that fails ends a Worker seal with its error, not a stall', { timeout: 20_000 }, async () => {
  const { createWorker } = await import('../src/index.js');
  const enc = new TextEncoder();
  const block = enc.encode('SYMBOLS,1234567.8910 some notes\n'.repeat(1 << 15));
  async function* input() {
    yield enc.encode('s,p\n');
    for (let i = 0; i < 16; i++) yield block;
  }
  const worker = await createWorker();
  let writes = 0;
  const full = new Error('disk full');
  await assert.rejects(
    worker.seal(input(), {
      output: () => {
        if (++writes === 2) throw full;
      },
    }),
    (e) => e === full,
  );
  // The next call runs (on a fresh Worker).
  assert.equal((await worker.seal(enc.encode('a\n1\n'))).summary.rows, 1);
  worker.terminate();
});
