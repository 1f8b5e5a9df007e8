// Loads the jco-transpiled component: compiles its core modules once (with
// the memory cap written into them) and makes a fresh component instance
// per call, so a trap or a huge input never leaks into the next call.

import { instantiate as instantiateBuiltin } from '../gen/csvseal_guest.js';
import { LimitError, OptionsError, SandboxError } from './errors.js';
import { capMemory } from './memory-cap.js';

/** The component's memory cap unless told otherwise, as the CLI's default. */
export const DEFAULT_MEMORY_LIMIT = 512 << 20;
const WASM32_MAX = 4 * 2 ** 30;
const BUILTIN = new URL('../gen/csvseal_guest.js', import.meta.url);

const engines = new Map();

/**
 * The engine for a jco output (`--instantiation async`) at `module`, by
 * default the built-in component; cached per module URL and memory cap.
 */
export function loadEngine({ module = BUILTIN, memoryLimitBytes = DEFAULT_MEMORY_LIMIT } = {}) {
  if (!Number.isInteger(memoryLimitBytes) || memoryLimitBytes < 1 << 20 || memoryLimitBytes > WASM32_MAX) {
    throw new OptionsError(`memoryLimitBytes must be an integer from 1 MiB to 4 GiB, got ${memoryLimitBytes}`);
  }
  const url = new URL(module, BUILTIN);
  const key = `${url.href} ${memoryLimitBytes}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = new Engine(url, memoryLimitBytes);
    engines.set(key, engine);
  }
  return engine;
}

export class Engine {
  constructor(url, memoryLimitBytes) {
    this.url = url;
    this.memoryLimitBytes = memoryLimitBytes;
    this.modules = new Map();
    this.instantiate = url.href === BUILTIN.href ? instantiateBuiltin : null;
  }

  /** A fresh instance: its exports (`verify`, `seal`, `checksum`) and a call guard. */
  async instance() {
    this.instantiate ??= (await import(this.url.href)).instantiate;
    const memories = [];
    const exports = await this.instantiate(
      (name) => this.module(name),
      {},
      async (module, imports) => {
        const instance = await WebAssembly.instantiate(module, imports);
        for (const v of Object.values(instance.exports)) {
          if (v instanceof WebAssembly.Memory) memories.push(v);
        }
        return instance;
      },
    );
    return { exports, call: (f) => this.#guard(memories, f) };
  }

  /** Runs `f`, turning a trap into a typed error that names its cause. */
  #guard(memories, f) {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      const used = Math.max(0, ...memories.map((m) => m.buffer.byteLength));
      const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`;
      // A failed allocation traps like any panic. Allocations grow by
      // doubling, so one made with less than half the cap still free is
      // taken as the cap refusing it.
      if (used > this.memoryLimitBytes / 2) {
        throw new LimitError(
          'memory',
          `the component ran out of memory: ${mib(used)} in use, the limit is ${mib(this.memoryLimitBytes)} (memoryLimitBytes)`,
        );
      }
      throw new SandboxError(`the component trapped: ${e.message} (${mib(used)} of memory in use)`, { cause: e });
    }
  }

  module(name) {
    let m = this.modules.get(name);
    if (!m) {
      m = fetchBytes(new URL(name, this.url)).then((bytes) => {
        const capped = capMemory(bytes, this.memoryLimitBytes);
        if (capped.minBytes > this.memoryLimitBytes) {
          throw new LimitError('memory', `the component needs ${capped.minBytes} bytes of memory to start, over the limit`);
        }
        return WebAssembly.compile(capped.bytes);
      });
      // A failed load is not cached: the next call tries again.
      m.catch(() => this.modules.delete(name));
      this.modules.set(name, m);
    }
    return m;
  }
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
