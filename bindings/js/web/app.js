// The page: pick or drop a CSV (and a schema, its .minisig and a public
// key), verify it in a Worker with a progress bar, and show the report and
// who signed it. The file never leaves the tab.

import { CsvsealWorker, canonicalJson } from '../src/index.js';

const $ = (id) => document.getElementById(id);
const worker = new CsvsealWorker({ timeoutMs: 60_000 });
let schema = null; // { name, text }
let minisig = null; // { name, text }
let keyFile = null; // { name, text }
let lastCsv = null; // re-checked when the signature or key changes
let runs = 0;

/** For tests and the curious: the last report, and its canonical JSON. */
window.csvseal = { report: null, json: null, ready: false, completed: 0 };

setStatus('loading', 'Loading the checker…');
worker
  .warm()
  .then(() => {
    window.csvseal.ready = true;
    setStatus('ready', 'Ready: choose or drop a CSV file.');
  })
  .catch((e) => setStatus('error', `The checker could not load: ${e.message}`));

$('csv').addEventListener('change', () => {
  const file = $('csv').files[0];
  if (file) check(file);
});
$('schema').addEventListener('change', async () => {
  const file = $('schema').files[0];
  schema = file ? { name: file.name, text: await file.text() } : null;
  $('schema-name').textContent = schema ? `Schema: ${schema.name}` : '';
});

$('minisig').addEventListener('change', async () => {
  minisig = await textOf($('minisig').files[0]);
  signingChanged();
});
$('pubkey-file').addEventListener('change', async () => {
  keyFile = await textOf($('pubkey-file').files[0]);
  signingChanged();
});
$('pubkey').addEventListener('change', () => signingChanged());

async function textOf(file) {
  return file ? { name: file.name, text: await file.text() } : null;
}

/** The public key texts given, chosen and pasted; none: no signature check. */
function publicKeys() {
  const pasted = $('pubkey').value.trim();
  return [keyFile?.text, pasted ? `${pasted}\n` : undefined].filter((k) => k !== undefined);
}

/** Shows what was chosen and checks the last CSV again, unless one is about to be. */
function signingChanged(recheck = true) {
  const names = [minisig && `Signature: ${minisig.name}`, keyFile && `Public key: ${keyFile.name}`].filter(Boolean);
  $('signing-names').textContent = names.join(' · ');
  if (recheck && lastCsv) check(lastCsv);
}

const drop = $('drop');
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const files = [...e.dataTransfer.files];
  const ending = (end) => files.find((f) => f.name.toLowerCase().endsWith(end));
  const schemaFile = ending('.json');
  const sigFile = ending('.minisig');
  const pubFile = ending('.pub');
  const csv = files.find((f) => f !== schemaFile && f !== sigFile && f !== pubFile);
  if (schemaFile) {
    schema = { name: schemaFile.name, text: await schemaFile.text() };
    $('schema-name').textContent = `Schema: ${schema.name}`;
  }
  if (sigFile) minisig = await textOf(sigFile);
  if (pubFile) keyFile = await textOf(pubFile);
  if (sigFile || pubFile) {
    $('signing').open = true;
    signingChanged(!csv);
  }
  if (csv) check(csv);
});

async function check(file) {
  lastCsv = file;
  const run = ++runs;
  $('result').hidden = true;
  const progress = $('progress');
  progress.hidden = false;
  progress.max = Math.max(file.size, 1);
  progress.value = 0;
  setStatus('running', `Checking ${file.name} (${file.size.toLocaleString('en')} bytes)…`);
  const started = performance.now();
  try {
    const keys = publicKeys();
    const report = await worker.verify(file, {
      schema: schema?.text,
      ...(keys.length > 0 ? { publicKey: keys, signature: minisig?.text } : {}),
      maxErrors: integer('max-errors', 1000),
      maxRecordBytes: integer('max-record-mib', 64) * 1048576,
      onProgress: (bytes) => {
        if (run === runs) progress.value = bytes;
      },
    });
    if (run !== runs) return; // a newer file was chosen meanwhile
    progress.hidden = true;
    show(file.name, report);
    const seconds = (performance.now() - started) / 1000;
    window.csvseal.seconds = seconds;
    setStatus('done', `Checked in ${seconds.toFixed(2)} s (${(file.size / 1e6 / seconds).toFixed(0)} MB/s), in this tab.`);
    window.csvseal.completed++;
  } catch (e) {
    if (run !== runs) return;
    progress.hidden = true;
    window.csvseal.report = window.csvseal.json = null;
    setStatus('error', `${file.name}: ${e.name}: ${e.message}`);
    window.csvseal.completed++;
  }
}

function integer(id, fallback) {
  const v = $(id).valueAsNumber;
  return Number.isInteger(v) ? v : fallback;
}

function setStatus(state, message) {
  $('status').dataset.state = state;
  $('message').textContent = message;
}

function show(name, r) {
  window.csvseal.report = r;
  window.csvseal.json = canonicalJson(r);
  $('verdict').textContent = r.valid ? 'Valid: every row is sealed and in sequence' : 'Invalid';
  $('verdict').className = r.valid ? 'valid' : 'invalid';
  showSignature(r.signature);
  $('file-name').textContent = name;
  $('bytes').textContent = fmt(r.bytes);
  $('rows').textContent = fmt(r.rows);
  $('seq-range').textContent = r.first_seq === null ? '—' : `${fmt(r.first_seq)} – ${fmt(r.last_seq)}`;
  $('columns').textContent = r.columns.join(', ') || '—';
  $('gaps').textContent = fmt(r.gap_count);
  $('error-count').textContent = fmt(r.error_count);

  fill($('warnings'), r.warnings, (w) => el('li', w));
  fill($('gap-table').tBodies[0], r.gaps, (g) =>
    row([g.line, g.after, g.next, BigInt(g.next) - BigInt(g.after) - 1n].map(fmt)),
  );
  $('gap-table').hidden = r.gaps.length === 0;
  fill($('errors').tBodies[0], r.errors, (e) =>
    row([fmt(e.line), e.seq === undefined ? '' : fmt(e.seq), e.kind, e.column ?? '', e.message]),
  );
  $('errors').hidden = r.errors.length === 0;
  const hidden = r.error_count - r.errors.length;
  $('truncated').hidden = !r.errors_truncated;
  $('truncated').textContent = `${fmt(hidden)} more error(s) counted but not listed (limit: errors listed).`;
  $('report-json').textContent = window.csvseal.json;
  $('result').hidden = false;
}

/** "Signed by key ID …" and what it states, or why the signature does not hold. */
function showSignature(sig) {
  const p = $('signature');
  p.hidden = sig === undefined;
  if (!sig) return;
  p.dataset.status = sig.status;
  if (sig.status === 'valid') {
    const c = sig.claims;
    const states = c
      ? `: ${c.file_name}, ${fmt(c.rows)} rows, ` +
        (c.first_seq === null ? 'no file_seq' : `file_seq ${fmt(c.first_seq)} – ${fmt(c.last_seq)}`) +
        (c.previous ? `, following ${c.previous.file_name}` : ', the first file of its series')
      : ' (a plain minisign signature: no csvseal claims, no chain data)';
    p.textContent = `Signed by key ID ${sig.key_id}${states}.`;
  } else {
    const why = {
      missing: 'No signature: choose or drop the file\'s .minisig',
      'unknown-key': `Signed by key ID ${sig.key_id}, which is not a key you gave`,
      malformed: 'Not a usable signature',
      invalid: 'Signature does not hold',
    }[sig.status];
    p.textContent = sig.status === 'missing' ? `${why}.` : `${why}: ${sig.message}`;
  }
}

function fmt(n) {
  return typeof n === 'bigint' || typeof n === 'number' ? n.toLocaleString('en') : String(n);
}

function fill(parent, items, make) {
  parent.replaceChildren(...items.map(make));
}

function row(cells) {
  const tr = el('tr');
  for (const c of cells) tr.append(el('td', c));
  return tr;
}

function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}
