#!/usr/bin/env node
// Regenerates gen/ from the committed component: `npm run build`.
//
// gen/ is never committed: it is jco's transpilation of
// host/assets/csvseal_guest.wasm, so it cannot drift from it. Alongside it we
// write gen/source.js (the component's SHA-256 and the jco version, which the
// tests compare with the committed .wasm, so a stale gen/ fails loudly), the
// WIT option fields, so the wrapper can pass through option fields added to
// the contract later while still rejecting typos, the core modules (their
// memories are capped together) and the versioned interfaces a plugin must
// export. The glue is rewritten so every lift is bounded (src/lift-bound.js).
//
//   node scripts/build.mjs [COMPONENT.wasm] [--out DIR] [--name NAME]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boundLifts } from '../src/lift-bound.js';

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
// Every lift out of the component charged to a per-call budget, as for plugins.
writeFileSync(join(out, `${name}.js`), boundLifts(generated));
const coreModules = readdirSync(out).filter((f) => f.endsWith('.wasm')).sort();
// The versioned interfaces a plugin must export to stand in for this
// component: the `engine` world's. `fidelity` and `signature` (world
// `builtin`) are csvseal's own checks, which a plugin never provides.
const builtinOnly = ['fidelity', 'signature'];
const worldExports = [...new Set([...generated.matchAll(/'(csvseal:core\/[\w-]+@[\w.-]+)'/g)].map((m) => m[1]))]
  .filter((name) => !builtinOnly.some((i) => name.startsWith(`csvseal:core/${i}@`)))
  .sort();
for (const i of builtinOnly) {
  if (!generated.includes(`'csvseal:core/${i}@`)) throw new Error(`${name}.js does not export csvseal:core/${i} (world builtin)`);
}
if (worldExports.length === 0) throw new Error(`${name}.js exports no csvseal:core interface`);

const sha256 = createHash('sha256').update(readFileSync(component)).digest('hex');
const fields = witFields(readFileSync(join(out, 'interfaces/csvseal-core-types.d.ts'), 'utf8'));
writeFileSync(
  join(out, 'source.js'),
  `// Written by scripts/build.mjs; do not edit.\n` +
    `export const componentSha256 = ${JSON.stringify(sha256)};\n` +
    `export const jcoVersion = ${JSON.stringify(jcoVersion)};\n` +
    `export const witFields = ${JSON.stringify(fields, null, 2)};\n` +
    `export const coreModules = ${JSON.stringify(coreModules)};\n` +
    `export const worldExports = ${JSON.stringify(worldExports)};\n`,
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
