// Run by backpressure.test.js in a child process, so other tests' memory
// does not count: seals MIB MiB of generated rows through a CsvsealWorker
// into a sink that takes DELAY ms per write, and prints how far the
// process's peak RSS rose during the seal (MiB) and the rows sealed.
//
//   node --expose-gc test/slow-sink-child.js MIB DELAY

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWorker } from '../src/index.js';

const [mib, delay] = process.argv.slice(2).map(Number);
const enc = new TextEncoder();

/** Peak resident set size so far (Linux), in bytes. */
function peakRss() {
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
}

// 32-byte rows: sealing adds a seq and a 64-digit checksum to each, so the
// output is about three times the input and a backlog of it shows clearly.
const rows = 'SYMBOLS,1234567.8910 some notes\n'.repeat((1 << 20) / 32);
const block = enc.encode(rows);
async function* input() {
  yield enc.encode('s,p\n');
  for (let i = 0; i < mib; i++) yield block;
}

const worker = await createWorker();
// Warm up at full speed first: the Worker, the compiled component and the
// first chunks' buffers are the baseline, not the backlog.
await worker.seal(enc.encode(`s,p\n${rows}`), { output: () => {} });
globalThis.gc();
const before = peakRss();
let written = 0;
const { summary } = await worker.seal(input(), {
  output: async (bytes) => {
    written += bytes.length;
    // Collect what earlier writes left behind: what stays is the backlog,
    // not garbage V8 has not got round to yet.
    globalThis.gc();
    await sleep(delay);
  },
});
worker.terminate();
console.log(JSON.stringify({ growthMiB: (peakRss() - before) / 2 ** 20, rows: summary.rows, written }));
