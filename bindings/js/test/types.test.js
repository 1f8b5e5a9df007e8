// index.d.ts against real use: test/types/usage.ts must compile with tsc
// (strict), including its @ts-expect-error lines (wrong use must not).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('index.d.ts accepts real use and refuses wrong use (tsc --noEmit)', () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const config = fileURLToPath(new URL('./types/tsconfig.json', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', config], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
