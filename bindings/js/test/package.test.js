// The package as users get it: `npm pack`, installed into an empty project,
// imported by name, gives a conformance report byte for byte (and its
// files are the runtime and its README only).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCases } from './cases.js';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm pack -> npm install -> import "csvseal" works, with the runtime files only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'csvseal-pack-'));
  try {
    const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', '--offline'], { cwd, encoding: 'utf8' });
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root));
    const files = packed.files.map((f) => f.path);
    assert.ok(files.includes('gen/csvseal_guest.js') && files.includes('index.d.ts') && files.includes('src/worker.js'), files.join(' '));
    assert.deepEqual(files.filter((f) => !/^(gen|src)\/|^index\.d\.ts$|^package\.json$|^README\.md$/.test(f)), []);
    // The package's own README (bindings/js/README.md) is in the tarball,
    // as npm shows it on the package's page.
    assert.ok(files.includes('README.md'), `README.md not packed: ${files.join(' ')}`);

    const app = join(dir, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}');
    npm(['install', join(dir, packed.filename)], app);
    const c = loadCases().find((x) => x.name === 'mixed-errors');
    writeFileSync(join(app, 'input.csv'), c.input);
    writeFileSync(
      join(app, 'main.js'),
      `import { openAsBlob } from 'node:fs';
       import { canonicalJson, createWorker, verify } from 'csvseal';
       process.stdout.write(canonicalJson(await verify(await openAsBlob('input.csv'))));
       const w = await createWorker();
       process.stdout.write(canonicalJson(await w.verify(await openAsBlob('input.csv'))));
       w.terminate();`,
    );
    const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
    assert.equal(out, c.expected + c.expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
