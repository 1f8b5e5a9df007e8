// README.md's npm example runs as written (with 'csvseal' pointing at this
// checkout) and prints what its comments say.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test("README's npm example runs and prints what it promises", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## npm$/m)[1].split(/^## /m)[0];
  const code = /```js\n([\s\S]*?)```/.exec(section)[1];
  const dir = mkdtempSync(join(tmpdir(), 'csvseal-readme-'));
  try {
    const script = join(dir, 'example.mjs');
    writeFileSync(script, code.replace("from 'csvseal'", `from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)}`));
    const out = execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
    // Every `// expected` comment in the example, in order.
    const promised = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) => m[1]);
    const lines = out.split('\n');
    for (const p of promised) assert.ok(lines.includes(p), `the README promises "${p}"; printed:\n${out}`);
    const canonical = lines.find((l) => l.startsWith('{'));
    assert.match(canonical, /^\{"bytes":\d+,"columns":\["file_seq","symbol","price","checksum_sha256"\],.*"valid":true,"warnings":\[\]\}$/);
    assert.match(lines.at(-2), /^[0-9a-f]{64}$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
