#!/usr/bin/env node
// Benchmark (not a test): verify throughput in Node, in this thread and in
// a Worker, on a file given on the command line (e.g. 1M sealed rows).
//
//   node bench/verify-node.mjs FILE [RUNS]
import { openAsBlob, readFileSync, statSync } from 'node:fs';
import { createWorker, verify } from '../src/index.js';

const [file, runs = '3'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/verify-node.mjs FILE [RUNS]');
  process.exit(2);
}
const size = statSync(file).size;
const mb = size / 1e6;

async function time(label, f) {
  const times = [];
  let report;
  for (let i = 0; i < Number(runs); i++) {
    const t = performance.now();
    report = await f();
    times.push((performance.now() - t) / 1000);
  }
  const best = Math.min(...times);
  if (!report.valid) throw new Error(`${label}: the file is not valid: ${JSON.stringify(report.errors[0])}`);
  console.log(
    `${label.padEnd(34)} ${(mb / best).toFixed(0).padStart(5)} MB/s  best of ${runs}: ${best.toFixed(2)} s (${report.rows} rows, ${mb.toFixed(1)} MB)`,
  );
}

const bytes = new Uint8Array(readFileSync(file));
await time('verify(Uint8Array)', () => verify(bytes));
await time('verify(Blob from disk)', async () => verify(await openAsBlob(file)));
const worker = await createWorker({ timeoutMs: 60_000 });
await time('CsvsealWorker.verify(Blob from disk)', async () => worker.verify(await openAsBlob(file)));
worker.terminate();
