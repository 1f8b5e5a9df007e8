#!/usr/bin/env node
// Benchmark (not a test): the browser page's verify throughput in headless
// Chromium (/usr/bin/chromium), file chosen through the real file input,
// verified in the page's Worker. Time measured by the page itself.
//
//   node bench/verify-browser.mjs FILE [RUNS]
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/chromium.js';
import { serve } from '../test/static-server.js';

const [file, runs = '3'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/verify-browser.mjs FILE [RUNS]');
  process.exit(2);
}
const mb = statSync(file).size / 1e6;
const server = await serve(resolve(fileURLToPath(new URL('..', import.meta.url))));
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/web/index.html`);
  await page.waitForFunction(() => window.csvseal?.ready === true, null, { timeout: 60_000 });
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const before = await page.evaluate(() => window.csvseal.completed);
    await page.setInputFiles('#csv', []);
    await page.setInputFiles('#csv', file);
    await page.waitForFunction((n) => window.csvseal.completed > n, before, { timeout: 300_000 });
    const { seconds, valid, rows, message } = await page.evaluate(() => ({
      seconds: window.csvseal.seconds,
      valid: window.csvseal.report?.valid,
      rows: window.csvseal.report?.rows,
      message: document.getElementById('message').textContent,
    }));
    if (!valid) throw new Error(`not valid: ${message}`);
    times.push(seconds);
    console.log(`run ${i + 1}: ${seconds.toFixed(2)} s, ${rows} rows`);
  }
  const best = Math.min(...times);
  console.log(`Chromium page (Worker, File input)   ${(mb / best).toFixed(0)} MB/s  best of ${runs}: ${best.toFixed(2)} s (${mb.toFixed(1)} MB)`);
} finally {
  await browser.close();
  await server.close();
}
