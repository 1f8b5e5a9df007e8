// Every ```js block of README.md, docs/*.md and bindings/js/README.md runs
// as printed: each is saved as example.mjs in a fresh empty directory whose
// node_modules/csvseal is a symlink to this package (as `npm install` of it
// would give), run with node, and must print what its
// `console.log(...); // expected` comments say. No other setup.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const repo = fileURLToPath(new URL('../../..', import.meta.url));

const docs = [
  'README.md',
  ...readdirSync(join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
  'bindings/js/README.md',
];

/** Every ```js block of `file`, with the line it starts on. */
function jsBlocks(file) {
  const text = readFileSync(join(repo, file), 'utf8');
  const blocks = [];
  const re = /^```js\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(text)); ) {
    blocks.push({ code: m[1], line: text.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

const all = docs.flatMap((file) => jsBlocks(file).map((b) => ({ file, ...b })));

test('the docs have JS examples, in README.md, docs/ and the package README', () => {
  assert.ok(all.length >= 4, `only ${all.length} js blocks`);
  for (const f of ['README.md', 'docs/npm-and-browser.md', 'bindings/js/README.md']) {
    assert.ok(all.some((b) => b.file === f), `no js block in ${f}`);
  }
});

for (const { file, line, code } of all) {
  test(`${file}:${line}: the example runs as printed and prints what it promises`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'csvseal-readme-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(pkg, join(dir, 'node_modules', 'csvseal'), 'dir');
      writeFileSync(join(dir, 'example.mjs'), code);
      let out;
      try {
        out = execFileSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        assert.fail(`${file}:${line}: node example.mjs failed (exit ${e.status}):\n${e.stdout}${e.stderr}`);
      }
      const lines = out.split('\n');
      // Every `console.log(...); // expected` comment, in order.
      const promised = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) => m[1]);
      for (const p of promised) assert.ok(lines.includes(p), `${file}:${line} promises "${p}"; printed:\n${out}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
