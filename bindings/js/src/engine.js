// Loads a component: the built-in one (gen/, transpiled at build time) or a
// plugin `.wasm` (transpiled here, plugin.js). Compiles its core modules
// once, with a cap on all their memories together written into them, and
// makes a fresh component instance per call, so a trap or a huge input
// never leaks into the next call. Every call runs under a guard that turns
// a trap into a typed error and bounds what the call may return.

import { __csvsealLift as builtinLift, instantiate as instantiateBuiltin } from '../gen/csvseal_guest.js';
import { coreModules } from '../gen/source.js';
import { LimitError, OptionsError, SandboxError } from './errors.js';
import { OUTPUT_LIMIT } from './lift-bound.js';
import { capMemories } from './memory-cap.js';
import { checkComponent, componentUrl, loadPlugin } from './plugin.js';

/** The cap on a component's memories together unless told otherwise, as the CLI's default. */
export const DEFAULT_MEMORY_LIMIT = 512 << 20;
/** Most bytes one call may return (strings, bytes and list elements lifted), as the CLI's default. */
export const DEFAULT_MAX_OUTPUT = 64 << 20;
const WASM32_MAX = 4 * 2 ** 30;
const BUILTIN = new URL('../gen/csvseal_guest.js', import.meta.url);

const engines = new Map();
/** Plugins transpiled elsewhere (by a browser page for its Worker), by URL. */
const prepared = new Map();

/** Internal: the Worker's use of a plugin its page transpiled (plugin.js). */
export function providePlugin(url, plugin) {
  prepared.set(url, plugin);
}

/**
 * The engine for `component` (the URL or path of a plugin `.wasm`; by
 * default the built-in component), cached per component and memory cap.
 */
export function loadEngine({ component, memoryLimitBytes = DEFAULT_MEMORY_LIMIT } = {}) {
  if (!Number.isInteger(memoryLimitBytes) || memoryLimitBytes < 1 << 20 || memoryLimitBytes > WASM32_MAX) {
    throw new OptionsError(`memoryLimitBytes must be an integer from 1 MiB to 4 GiB, got ${memoryLimitBytes}`);
  }
  checkComponent(component);
  const url = component === undefined ? null : componentUrl(component);
  const key = `${url?.href ?? 'builtin'} ${memoryLimitBytes}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = new Engine(url, memoryLimitBytes);
    engines.set(key, engine);
  }
  return engine;
}

export class Engine {
  #loaded = null;

  constructor(url, memoryLimitBytes) {
    this.url = url;
    this.memoryLimitBytes = memoryLimitBytes;
  }

  /** A fresh instance: its exports (`verify`, `seal`, `checksum`) and a call guard. */
  async instance({ maxOutputBytes = DEFAULT_MAX_OUTPUT } = {}) {
    const { instantiate, lift, compiled } = await this.#load();
    const memories = [];
    const exports = await instantiate(
      (name) => {
        const m = compiled.get(name);
        if (!m) throw new SandboxError(`the component's glue asked for an unknown core module ${name}`);
        return Promise.resolve(m);
      },
      {},
      async (module, imports) => {
        const instance = await WebAssembly.instantiate(module, imports);
        for (const v of Object.values(instance.exports)) {
          if (v instanceof WebAssembly.Memory) memories.push(v);
        }
        return instance;
      },
    );
    return { exports, call: (f) => this.#guard(memories, lift, maxOutputBytes, f) };
  }

  /** Runs `f` with the output budget set, turning a trap or an overrun into a typed error. */
  #guard(memories, lift, maxOutputBytes, f) {
    lift.budget = maxOutputBytes;
    try {
      return f();
    } catch (e) {
      const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`;
      if (e?.csvseal === OUTPUT_LIMIT) {
        throw new LimitError('output', `the component returned more than ${mib(maxOutputBytes)} from one call (maxOutputBytes)`);
      }
      if (!(e instanceof WebAssembly.RuntimeError) && !(e instanceof RangeError)) throw e;
      const used = memories.reduce((n, m) => n + m.buffer.byteLength, 0);
      // A failed allocation traps like any panic. Allocations grow by
      // doubling, so one made with less than half the cap still free is
      // taken as the cap refusing it.
      if (used > this.memoryLimitBytes / 2) {
        throw new LimitError(
          'memory',
          `the component ran out of memory: ${mib(used)} in use, the limit is ${mib(this.memoryLimitBytes)} (memoryLimitBytes)`,
        );
      }
      // A RangeError is the glue reading outside the component's memory
      // (a length or pointer it returned was out of bounds).
      throw new SandboxError(`the component trapped: ${e.message} (${mib(used)} of memory in use)`, { cause: e });
    } finally {
      lift.budget = Infinity;
    }
  }

  /** Transpiles (plugins) and compiles once; a failed load is not cached, the next call tries again. */
  load() {
    return this.#load().then(() => {});
  }

  #load() {
    if (!this.#loaded) {
      this.#loaded = this.#compile();
      this.#loaded.catch(() => (this.#loaded = null));
    }
    return this.#loaded;
  }

  async #compile() {
    const where = this.url?.href ?? 'the built-in component';
    const source = this.url ? await loadPlugin(this.url, prepared.get(this.url.href)) : builtin();
    const bytes = await Promise.all(source.moduleNames.map((n) => source.module(n)));
    let capped;
    try {
      capped = capMemories(bytes, this.memoryLimitBytes);
    } catch (e) {
      throw new SandboxError(`${where}: ${e.message}`);
    }
    if (capped.minBytes > this.memoryLimitBytes) {
      throw new LimitError('memory', `${where} needs ${capped.minBytes} bytes of memory to start, over the limit (memoryLimitBytes)`);
    }
    const compiled = new Map();
    for (const [i, name] of source.moduleNames.entries()) {
      try {
        compiled.set(name, await WebAssembly.compile(capped.modules[i]));
      } catch (e) {
        throw new SandboxError(`${where}: ${name} does not compile: ${e.message}`);
      }
    }
    return { instantiate: source.instantiate, lift: source.lift, compiled };
  }
}

function builtin() {
  return {
    instantiate: instantiateBuiltin,
    lift: builtinLift,
    moduleNames: coreModules,
    module: (name) => fetchBytes(new URL(name, BUILTIN)),
  };
}

async function fetchBytes(url) {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
