// The browser page in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): every conformance case goes through the real
// file input, the page's DOM and canonical JSON must match expected.json,
// and nothing is requested after the page has loaded.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { seal } from '../src/index.js';
import { signedFixture } from './signing.js';
import { loadCases } from './cases.js';
import { launchChromium } from './chromium.js';
import { PLUGINS_DIR } from './plugins.js';
import { pluginPage } from './plugin-page.js';
import { serve } from './static-server.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
// The screenshot goes under the repository's target/ (never the system temp
// directory); CSVSEAL_SCREENSHOT=PATH puts it elsewhere.
const SCREENSHOT = process.env.CSVSEAL_SCREENSHOT ?? join(ROOT, '..', '..', 'target', 'browser-test', 'csvseal-browser.png');
const cases = loadCases();

let server, browser, page;
const requests = []; // every request the browser made, page and Worker alike
const problems = []; // page errors and console errors

let plugins; // the page for plugins: an import map for the transpiler, which the package loads from node_modules/

before(async () => {
  plugins = pluginPage(ROOT);
  server = await serve(ROOT, { '/plugins/': PLUGINS_DIR, '/plugin-page/': plugins.dir });
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.on('request', (r) => requests.push(r.url()));
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  await page.goto(`${server.origin}/web/index.html`);
  await page.waitForFunction(() => window.csvseal?.ready === true, null, { timeout: 60_000 });
  await page.click('#options summary'); // shows the limit fields
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
  plugins?.cleanup();
});

/** Expected JSON with integers beyond 2^53 kept as digit strings. */
function parseExact(text) {
  return JSON.parse(text.replace(/([:\[,])(\d{16,})(?=[,\]}])/g, '$1"$2"'));
}

const digits = (s) => s.replace(/[^\d]/g, '');

/** Checks `file` in the page (through the real inputs) and returns what it shows. */
async function check(c) {
  const before = await page.evaluate(() => window.csvseal.completed);
  await page.fill('#max-errors', String(c.options.maxErrors ?? 1000));
  await page.fill('#max-record-mib', String((c.options.maxRecordBytes ?? 64 * 1048576) / 1048576));
  await page.setInputFiles(
    '#schema',
    c.hasSchema ? { name: 'schema.json', mimeType: 'application/json', buffer: Buffer.from(c.options.schema) } : [],
  );
  if (c.options.publicKey === undefined) {
    await page.setInputFiles('#csv', { name: 'input.csv', mimeType: 'text/csv', buffer: Buffer.from(c.input) });
  } else {
    // A signed case: the CSV, its .minisig (if any) and the keys dropped
    // together, as a user would, so the page checks once. The page keeps a
    // signature dropped earlier, so the case without one must come first.
    const files = [['input.csv', [...c.input]], ['keys.pub', c.options.publicKey]];
    if (c.options.signature !== null) files.push(['input.csv.minisig', c.options.signature]);
    await drop(files);
  }
  await page.waitForFunction((n) => window.csvseal.completed > n, before, { timeout: 60_000 });
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    const cells = (id) => [...$(id).tBodies[0].rows].map((r) => [...r.cells].map((td) => td.textContent));
    return {
      state: $('status').dataset.state,
      message: $('message').textContent,
      verdict: $('verdict').className,
      rows: $('rows').textContent,
      bytes: $('bytes').textContent,
      seqRange: $('seq-range').textContent,
      gaps: $('gaps').textContent,
      errorCount: $('error-count').textContent,
      errors: cells('errors'),
      gapRows: cells('gap-table'),
      warnings: [...$('warnings').children].map((li) => li.textContent),
      truncatedShown: !$('truncated').hidden,
      shownJson: $('report-json').textContent,
      json: window.csvseal.json,
    };
  });
}

test('every conformance case, through the file input, matches expected.json', async () => {
  const loaded = requests.length;
  // Unsigned cases first, then the signed ones, the one without a signature first.
  const order = (c) => (c.options.publicKey === undefined ? 0 : c.options.signature === null ? 1 : 2);
  for (const c of [...cases].sort((a, b) => order(a) - order(b))) {
    const shown = await check(c);
    assert.equal(shown.state, 'done', `${c.name}: ${shown.message}`);
    assert.equal(shown.json, c.expected, `${c.name}: canonical JSON`);
    assert.equal(shown.shownJson, c.expected, `${c.name}: the JSON on the page`);

    const want = parseExact(c.expected);
    assert.equal(shown.verdict, want.valid ? 'valid' : 'invalid', c.name);
    assert.equal(digits(shown.rows), String(want.rows), c.name);
    assert.equal(digits(shown.bytes), String(want.bytes), c.name);
    assert.equal(digits(shown.errorCount), String(want.error_count), c.name);
    assert.equal(digits(shown.gaps), String(want.gap_count), c.name);
    const range = want.first_seq === null ? '' : `${want.first_seq}${want.last_seq}`;
    assert.equal(digits(shown.seqRange), range, c.name);
    assert.deepEqual(
      shown.errors.map((r) => [digits(r[0]), digits(r[1]), ...r.slice(2)]),
      want.errors.map((e) => [String(e.line), e.seq === undefined ? '' : String(e.seq), e.kind, e.column ?? '', e.message]),
      c.name,
    );
    assert.deepEqual(shown.gapRows.map((r) => r.slice(0, 3).map(digits)), want.gaps.map((g) => [g.line, g.after, g.next].map(String)), c.name);
    assert.deepEqual(shown.warnings, want.warnings, c.name);
    assert.equal(shown.truncatedShown, want.errors_truncated, c.name);
  }
  // The signed cases left a signature and a key chosen: clear them (each
  // change checks the last CSV again) so later checks are unsigned.
  await until(() => page.setInputFiles('#minisig', []));
  await until(() => page.setInputFiles('#pubkey-file', []));
  // The files were read in the tab: not one request since the page loaded.
  assert.deepEqual(requests.slice(loaded), [], 'requests made while checking files');
  assert.deepEqual(problems, []);

  await check(cases.find((c) => c.name === 'mixed-errors'));
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`screenshot: ${SCREENSHOT}`);
});

test('a big file shows progress and the report', async () => {
  const lines = ['symbol,price'];
  for (let i = 0; i < 120_000; i++) lines.push(`S${i % 50},${i}.5`);
  const { data } = await seal(new TextEncoder().encode(`${lines.join('\n')}\n`));
  await page.evaluate(() => {
    window.progressSeen = [];
    new MutationObserver(() => window.progressSeen.push(Number(document.getElementById('progress').value))).observe(
      document.getElementById('progress'),
      { attributes: true, attributeFilter: ['value'] },
    );
  });
  const shown = await check({ name: 'big', input: data, options: {}, hasSchema: false });
  assert.equal(shown.state, 'done', shown.message);
  assert.equal(digits(shown.rows), '120000');
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.filter((v) => v > 0).length >= Math.floor(data.length / (1 << 20)), `progress values: ${seen}`);
  assert.equal(Math.max(...seen), data.length);
});

test('dropping a CSV and its schema checks the CSV against the schema', async () => {
  const c = cases.find((x) => x.name === 'schema-type-errors');
  const before = await page.evaluate(() => window.csvseal.completed);
  await page.fill('#max-errors', '1000');
  await page.fill('#max-record-mib', '64');
  await page.setInputFiles('#schema', []);
  await page.evaluate(
    ([csv, schema]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(csv)], 'input.csv', { type: 'text/csv' }));
      dt.items.add(new File([schema], 'schema.json', { type: 'application/json' }));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    [[...c.input], c.options.schema],
  );
  await page.waitForFunction((n) => window.csvseal.completed > n, before, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.csvseal.json), c.expected);
});

test('in a tab, plugins are .wasm only; the Worker timeout ends a runaway one and the page stays usable', async () => {
  const tab = await page.context().newPage();
  tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await tab.goto(`${server.origin}/plugin-page/index.html`);
  const outcome = await tab.evaluate(async (component) => {
    const { OptionsError, createWorker } = await import('/src/index.js');
    // Transpiled JS is refused, in the page as in Node.
    const refused = await createWorker({ component: '/plugins/engine.js' }).then(
      () => 'accepted',
      (e) => (e instanceof OptionsError ? 'refused' : `${e.name}: ${e.message}`),
    );
    const worker = await createWorker({ timeoutMs: 1500, component });
    const started = performance.now();
    try {
      await worker.verify(new TextEncoder().encode('a\n1\n'));
      return { refused, name: 'resolved' };
    } catch (e) {
      return { refused, name: e.name, limit: e.limit, message: e.message, ms: performance.now() - started };
    } finally {
      worker.terminate();
    }
  }, '/plugins/hostile-loop-forever.wasm');
  await tab.close();
  assert.equal(outcome.refused, 'refused');
  assert.equal(outcome.name, 'TimeoutError', outcome.message);
  assert.equal(outcome.limit, 'cpu');
  assert.ok(outcome.ms >= 1400, 'not (much) before the timeout');
  // The page still checks files.
  const c = cases.find((x) => x.name === 'valid-basic');
  const shown = await check(c);
  assert.equal(shown.json, c.expected);
});

test('an unreadable schema is shown as a typed error, not a crash', async () => {
  const c = cases.find((x) => x.name === 'valid-basic');
  const shown = await check({ ...c, hasSchema: true, options: { schema: '{"fields": [' } });
  assert.equal(shown.state, 'error');
  assert.match(shown.message, /^input\.csv: SchemaError: /);
  await page.setInputFiles('#schema', []);
});

/** Runs `action` (something that makes the page check a file) and waits for the check. */
async function until(action) {
  const before = await page.evaluate(() => window.csvseal.completed);
  await action();
  await page.waitForFunction((n) => window.csvseal.completed > n, before, { timeout: 60_000 });
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    return {
      state: $('status').dataset.state,
      message: $('message').textContent,
      verdict: $('verdict').className,
      signature: $('signature').hidden ? null : $('signature').textContent,
      status: $('signature').dataset.status,
      errors: [...$('errors').tBodies[0].rows].map((r) => r.cells[2].textContent),
      report: JSON.parse(window.csvseal.json),
    };
  });
}

/** Drops `files` (name → bytes or text) on the page, as a user would. */
function drop(files) {
  return page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const [name, data] of list) dt.items.add(new File([typeof data === 'string' ? data : new Uint8Array(data)], name));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files.map(([n, d]) => [n, typeof d === 'string' ? d : [...d]]));
}

test('a signed CSV shows its signing key ID; the recomputed-checksum tamper and a wrong key show why not', async () => {
  const fx = await signedFixture();
  await page.fill('#max-errors', '1000');
  await page.fill('#max-record-mib', '64');
  await page.setInputFiles('#schema', []);
  const loaded = requests.length;

  // CSV, .minisig and .pub dropped together.
  let shown = await until(() =>
    drop([['trades.csv', fx.data], ['trades.csv.minisig', fx.signature], ['signer.pub', fx.key.publicKey]]),
  );
  assert.equal(shown.state, 'done', shown.message);
  assert.equal(shown.verdict, 'valid');
  assert.equal(shown.status, 'valid');
  assert.match(shown.signature, new RegExp(`^Signed by key ID ${fx.key.id}: trades\\.csv, 3 rows, file_seq 1 – 3, the first file of its series\\.$`));
  assert.equal(shown.report.signature.key_id, fx.key.id);

  // The tamper passes the policy checks but not the signature.
  shown = await until(() => page.setInputFiles('#csv', { name: 'trades.csv', mimeType: 'text/csv', buffer: Buffer.from(fx.tampered) }));
  assert.equal(shown.verdict, 'invalid');
  assert.equal(shown.status, 'invalid');
  assert.match(shown.signature, /^Signature does not hold: the signature by key [0-9A-F]{16} does not match the file's bytes/);
  assert.deepEqual(shown.errors, ['signature-invalid']);
  assert.deepEqual(shown.report.errors.map((e) => [e.kind, e.line]), [['signature-invalid', 0]]);

  // Another key, pasted instead of the chosen file: unknown-key, naming the signer.
  await until(() => page.setInputFiles('#csv', { name: 'trades.csv', mimeType: 'text/csv', buffer: Buffer.from(fx.data) }));
  await until(() => page.setInputFiles('#pubkey-file', []));
  await page.fill('#pubkey', fx.otherKey.publicKey);
  shown = await until(() => page.dispatchEvent('#pubkey', 'change'));
  assert.equal(shown.verdict, 'invalid');
  assert.equal(shown.status, 'unknown-key');
  assert.equal(shown.signature, `Signed by key ID ${fx.key.id}, which is not a key you gave: signed by key ${fx.key.id}, which is not among the public keys given`);
  assert.deepEqual(shown.errors, ['unknown-key']);

  // No signature chosen, a key given: missing.
  shown = await until(() => page.setInputFiles('#minisig', []));
  assert.equal(shown.status, 'missing');
  assert.deepEqual(shown.errors, ['signature-missing']);

  // Without a key the page checks no signature, as before.
  await page.fill('#pubkey', '');
  shown = await until(() => page.dispatchEvent('#pubkey', 'change'));
  assert.equal(shown.signature, null);
  assert.equal(shown.report.signature, undefined);
  assert.equal(shown.verdict, 'valid');
  assert.deepEqual(requests.slice(loaded), [], 'requests made while checking signed files');
  assert.deepEqual(problems, []);
});

test('every request the browser made was for the page itself, on 127.0.0.1', () => {
  assert.ok(requests.length > 0);
  for (const url of requests) assert.ok(url.startsWith(`${server.origin}/`), url);
  for (const line of server.log) assert.match(line, /^GET \/(web|src|gen|plugins|plugin-page|node_modules\/@bytecodealliance)\//);
  assert.deepEqual(problems, []);
});
