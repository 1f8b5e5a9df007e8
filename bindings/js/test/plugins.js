// Transpiles hostile plugins from tests/plugins/ (components of the same
// `engine` world as csvseal's own) for tests that need a misbehaving engine.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const build = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));
const plugins = fileURLToPath(new URL('../../../tests/plugins/', import.meta.url));

/** Transpiles each named plugin into DIR/NAME/engine.js; returns DIR, their module URLs and a cleanup. */
export function transpilePlugins(names) {
  const dir = mkdtempSync(join(tmpdir(), 'csvseal-js-plugins-'));
  const urls = {};
  for (const name of names) {
    const out = join(dir, name);
    execFileSync(process.execPath, [build, join(plugins, `${name}.wasm`), '--out', out, '--name', 'engine'], {
      stdio: 'ignore',
    });
    urls[name] = pathToFileURL(join(out, 'engine.js')).href;
  }
  return { dir, urls, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
