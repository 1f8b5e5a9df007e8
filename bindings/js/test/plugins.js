// Hostile plugins from tests/plugins/ (components of the same `engine`
// world as csvseal's own, built from plugins/hostile) for tests that need a
// misbehaving engine. The package takes them as .wasm and transpiles them
// itself.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding them. */
export const PLUGINS_DIR = resolve(fileURLToPath(new URL('../../../tests/plugins/', import.meta.url)));

/** The file: URL of tests/plugins/NAME.wasm. */
export function pluginUrl(name) {
  return new URL(`../../../tests/plugins/${name}.wasm`, import.meta.url).href;
}
