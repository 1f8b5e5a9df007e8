// A page for plugins in the browser test: the package transpiles a plugin
// on the page (a Worker cannot resolve the transpiler's package imports),
// so the page needs an import map for them; a bundler would do the same.
// Written at test time from where npm put the packages.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Writes DIR/index.html (with the import map, paths under `root`); returns DIR and a cleanup. */
export function pluginPage(root) {
  const transpiler = fileURLToPath(import.meta.resolve('@bytecodealliance/jco-transpile/component'));
  // Its package root (package.json is not among its exports): .../preview2-shim/dist/nodejs/index.js.
  const shim = dirname(dirname(dirname(createRequire(transpiler).resolve('@bytecodealliance/preview2-shim'))));
  const url = (path) => `/${relative(root, path).split(sep).join('/')}`;
  const imports = { '@bytecodealliance/jco-transpile/component': url(transpiler) };
  for (const name of ['cli', 'filesystem', 'io', 'random']) {
    imports[`@bytecodealliance/preview2-shim/${name}`] = url(join(shim, 'dist/browser', `${name}.js`));
  }
  const dir = mkdtempSync(join(tmpdir(), 'csvseal-plugin-page-'));
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html>\n<meta charset="utf-8">\n<title>plugins</title>\n<link rel="icon" href="data:,">\n<script type="importmap">${JSON.stringify({ imports })}</script>\n`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
