// A plugin: a `.wasm` component implementing csvseal's `engine` world,
// transpiled here by jco (in-process, in this thread) into glue JS and core
// modules. Only `.wasm` is accepted: a transpiled plugin would be ordinary
// JS, run with this process's full authority. The glue we run is jco's,
// generated from the component, with every lift bounded (lift-bound.js).
//
// In Node the Worker transpiles for itself. A browser Worker cannot resolve
// the transpiler's package imports (import maps do not reach Workers), so
// there the page transpiles and hands the result to its Worker.

import { boundLifts } from './lift-bound.js';
import { worldExports } from '../gen/source.js';
import { LimitError, OptionsError, SandboxError } from './errors.js';

/** Largest plugin file read: the built-in component is about 1 MiB. */
export const MAX_PLUGIN_BYTES = 64 << 20;

/** Throws OptionsError unless `component` names a `.wasm` file (URL or path). */
export function checkComponent(component) {
  if (component === undefined) return;
  const ok = (typeof component === 'string' || component instanceof URL) && /\.wasm$/i.test(pathOf(component));
  if (!ok) {
    throw new OptionsError(
      'component must be the URL or path of a .wasm component; transpiled JS is not accepted (it would run with full authority)',
    );
  }
}

/** `component` as a URL: a relative path from the working directory in Node, from the page in browsers. */
export function componentUrl(component) {
  let base = globalThis.location?.href ?? import.meta.url;
  if (typeof process !== 'undefined' && typeof process.cwd === 'function') {
    base = new URL('file:///');
    base.pathname = `${process.cwd()}/`; // the setter escapes what a path may hold ('#', '?', '%')
  }
  return new URL(component, base);
}

function pathOf(component) {
  try {
    return new URL(component, 'file:///').pathname;
  } catch {
    return String(component);
  }
}

/**
 * The plugin at `url`, transpiled and checked: `{ glue, modules }`, the
 * bounded glue JS (text) and its core modules (name -> bytes). It must
 * import nothing and export the built-in component's versioned interfaces.
 */
export async function transpilePlugin(url) {
  const bytes = await readBounded(url);
  const { $init, generate } = await import('@bytecodealliance/jco-transpile/component');
  await $init;
  let generated;
  try {
    generated = generate(bytes, {
      name: 'engine',
      instantiation: { tag: 'async' },
      noTypescript: true,
      noNodejsCompat: true,
      noComponentErrorWrapping: false, // errors carry `.payload`, as in the built-in glue
      base64Cutoff: 0,
      map: [],
    });
  } catch (e) {
    throw new SandboxError(`${url}: not a component jco can load: ${e?.payload ?? e?.message ?? e}`);
  }
  // The world imports nothing: a plugin asking for anything (WASI or
  // otherwise) is refused before any of its code runs, as by the CLI.
  if (generated.imports.length > 0) {
    throw new SandboxError(`${url}: the component imports ${generated.imports.join(', ')}; a plugin may import nothing`);
  }
  const exported = new Set(generated.exports.map(([name]) => name));
  const missing = worldExports.filter((name) => !exported.has(name));
  if (missing.length > 0) {
    throw new SandboxError(`${url}: the component does not export ${missing.join(', ')}; rebuild it against csvseal's wit/`);
  }
  const files = new Map(generated.files);
  const glue = boundLifts(new TextDecoder().decode(files.get('engine.js')));
  files.delete('engine.js');
  return { glue, modules: files };
}

/**
 * A transpiled plugin made runnable: `{ instantiate, lift, moduleNames, module(name) }`.
 * `prepared` is transpilePlugin's result when it ran elsewhere (a browser
 * page, for its Worker); otherwise the plugin is transpiled here.
 */
export async function loadPlugin(url, prepared) {
  const { glue, modules } = prepared ?? (await transpilePlugin(url));
  const { instantiate, __csvsealLift: lift } = await importSource(glue);
  const moduleNames = [...modules.keys()].filter((n) => n.endsWith('.wasm'));
  return { instantiate, lift, moduleNames, module: async (name) => modules.get(name) };
}

/** Imports generated module text (a data: URL: nothing is written anywhere). */
function importSource(text) {
  return import(`data:text/javascript,${encodeURIComponent(text)}`);
}

/** The file's bytes, at most MAX_PLUGIN_BYTES; in Node, a regular file only (no symlink, FIFO or device). */
async function readBounded(url) {
  const tooBig = () => new LimitError('memory', `${url}: the plugin is larger than ${MAX_PLUGIN_BYTES} bytes`);
  if (url.protocol === 'file:') {
    const { open, constants } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    let fh;
    try {
      fh = await open(fileURLToPath(url), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      throw new OptionsError(`${url}: cannot open the plugin: ${e.code ?? e.message}`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new OptionsError(`${url}: the plugin is not a regular file`);
      if (st.size > MAX_PLUGIN_BYTES) throw tooBig();
      const buf = new Uint8Array(st.size);
      const { bytesRead } = await fh.read(buf, 0, st.size, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new OptionsError(`fetching ${url}: HTTP ${response.status}`);
  const parts = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_PLUGIN_BYTES) {
      await reader.cancel();
      throw tooBig();
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
