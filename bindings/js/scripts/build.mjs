#!/usr/bin/env node
// Regenerates gen/ from the committed component: `npm run build`.
//
// gen/ is never committed: it is jco's transpilation of
// host/assets/csvseal_guest.wasm, so it cannot drift from it. Alongside it we
// write gen/source.js (the component's SHA-256 and the jco version, which the
// tests compare with the committed .wasm, so a stale gen/ fails loudly) and
// the WIT option fields, so the wrapper can pass through option fields added
// to the contract later while still rejecting typos.
//
//   node scripts/build.mjs [COMPONENT.wasm] [--out DIR] [--name NAME]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const out = resolve(flag('--out', join(root, 'gen')));
const name = flag('--name', 'csvseal_guest');
const component = resolve(args[0] ?? join(root, '../../host/assets/csvseal_guest.wasm'));

const jco = join(root, 'node_modules/.bin/jco');
const jcoVersion = JSON.parse(
  readFileSync(join(root, 'node_modules/@bytecodealliance/jco/package.json'), 'utf8'),
).version;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// --instantiation async: we compile the core modules ourselves (to cap their
// memory and to share one compilation between calls) and get a fresh
// component instance per call.
execFileSync(jco, ['transpile', component, '-o', out, '--name', name, '--instantiation', 'async', '--quiet'], {
  stdio: 'inherit',
});

const generated = readFileSync(join(out, `${name}.js`), 'utf8');
// The component must import nothing (no WASI): then no preview2 shim is needed.
if (/^\s*import\s/m.test(generated)) {
  throw new Error(`${name}.js imports modules; the engine world must import nothing`);
}

const sha256 = createHash('sha256').update(readFileSync(component)).digest('hex');
const fields = witFields(readFileSync(join(out, 'interfaces/csvseal-core-types.d.ts'), 'utf8'));
writeFileSync(
  join(out, 'source.js'),
  `// Written by scripts/build.mjs; do not edit.\n` +
    `export const componentSha256 = ${JSON.stringify(sha256)};\n` +
    `export const jcoVersion = ${JSON.stringify(jcoVersion)};\n` +
    `export const witFields = ${JSON.stringify(fields, null, 2)};\n`,
);
console.log(`gen: ${out} from ${component} (sha256 ${sha256.slice(0, 12)}…, jco ${jcoVersion})`);

/** The field names of every record interface in jco's types, by name. */
function witFields(dts) {
  const records = {};
  for (const m of dts.matchAll(/export interface (\w+) \{([^}]*)\}/g)) {
    records[m[1]] = [...m[2].matchAll(/^\s*(\w+)\??:/gm)].map((f) => f[1]);
  }
  return records;
}
