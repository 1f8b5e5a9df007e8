// CsvsealWorker: verify/seal/rowChecksum in a Worker (browser Worker or Node
// worker_threads), with the same API as the direct functions, plus a
// timeout that terminates a runaway call and progress from the Worker.
//
// The main thread reads the input (any accepted type) into chunks and sends
// them, at most two ahead of the component and only while the sink has
// taken all but about two chunks' worth of sealed output. The Worker answers every call
// into the component with a progress message; while it owes one, silence
// longer than `timeoutMs` means a call is stuck (loading the component has
// its own, longer bound, LOAD_TIMEOUT_MS), and the Worker is
// terminated (the only way to stop running wasm). The next call starts a
// fresh Worker.

import { chunks } from './chunks.js';
import { AbortError, InputError, LimitError, OptionsError, SandboxError, TimeoutError, fromWire } from './errors.js';
import { sealOptions, verifyOptions } from './options.js';
import { checkComponent, componentUrl, transpilePlugin } from './plugin.js';
import { Report } from './report.js';
import { sink } from './sink.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
const IN_FLIGHT = 2;
const IS_NODE = typeof process !== 'undefined' && Boolean(process.versions?.node);
/** The Worker's JS heap in Node unless told otherwise: lifted results live there. */
export const DEFAULT_HEAP_LIMIT = 512 << 20;
/** Transpiling and compiling a plugin in the Worker: seconds, not a call into it. */
const LOAD_TIMEOUT_MS = 60_000;

/** Starts a Worker and loads the component in it. */
export async function createWorker(options = {}) {
  const w = new CsvsealWorker(options);
  await w.warm();
  return w;
}

export class CsvsealWorker {
  #timeoutMs;
  #heapLimitBytes;
  #defaults;
  #worker = null;
  #queue = Promise.resolve();
  #ids = 0;
  #plugins = new Map();

  constructor({ timeoutMs = 30_000, memoryLimitBytes, maxOutputBytes, component, heapLimitBytes = DEFAULT_HEAP_LIMIT } = {}) {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new OptionsError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    if (!Number.isSafeInteger(heapLimitBytes) || heapLimitBytes < 16 << 20) {
      throw new OptionsError(`heapLimitBytes must be an integer of at least 16 MiB, got ${heapLimitBytes}`);
    }
    checkComponent(component);
    this.#timeoutMs = timeoutMs;
    this.#heapLimitBytes = heapLimitBytes;
    this.#defaults = { memoryLimitBytes, maxOutputBytes, component: wireComponent(component) };
  }

  /** Loads and compiles the component in the Worker now. */
  warm() {
    return this.#enqueue({ op: 'warm', options: {} });
  }

  async verify(input, options = {}) {
    // The Worker sees chunks, not the File: its name goes along for the
    // signature's claims.
    if (options.publicKey != null && options.fileName === undefined && typeof input?.name === 'string') {
      options = { ...options, fileName: input.name };
    }
    verifyOptions(this.#merge(options), input); // bad options fail here, before any reading
    return Report.from(await this.#enqueue({ op: 'verify', input, options }));
  }

  async seal(input, options = {}) {
    sealOptions(this.#merge(options));
    return this.#enqueue({ op: 'seal', input, options });
  }

  async rowChecksum(header, fields, options = {}) {
    return this.#enqueue({ op: 'rowChecksum', args: [header, fields], options });
  }

  /** Ends the Worker; a later call starts a new one. */
  terminate() {
    this.#worker?.terminate();
    this.#worker = null;
  }

  /** In a browser: the plugin at `url` transpiled here, once, for the Worker (plugin.js says why). */
  #transpiled(url) {
    let p = this.#plugins.get(url);
    if (!p) {
      p = transpilePlugin(new URL(url));
      p.catch(() => this.#plugins.delete(url));
      this.#plugins.set(url, p);
    }
    return p;
  }

  #merge(options) {
    const out = { ...options };
    for (const [k, v] of Object.entries(this.#defaults)) if (v !== undefined && out[k] === undefined) out[k] = v;
    return out;
  }

  /** Calls run one after another: a Worker runs one operation at a time. */
  #enqueue(call) {
    const result = this.#queue.then(() => this.#run(call));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #run({ op, input, options, args }) {
    const { onProgress, output, signal, ...rest } = this.#merge(options);
    const wire = { ...rest, component: wireComponent(rest.component) };
    const size = rest.chunkSize ?? 1 << 20;
    checkSignal(signal);
    const plugin = wire.component && !IS_NODE ? await this.#transpiled(wire.component) : undefined;
    const worker = (this.#worker ??= await spawn(this.#heapLimitBytes));
    const id = ++this.#ids;
    const out = op === 'seal' ? sink(output) : null;
    let writes = Promise.resolve();
    let sent = 0;
    let done = 0;
    let pendingOut = 0; // bytes the Worker sealed that the sink has not taken yet
    let ended = input === undefined;
    let settled = false;
    let failed = false; // once the call fails, no more output reaches the sink
    let loading = true; // until the Worker has the component compiled
    let timer;
    let wakePump = () => {};

    const { promise, resolve, reject } = withResolvers();
    const finish = (f) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      worker.onMessage = worker.onExit = null;
      wakePump();
      f();
    };
    const fail = (error) =>
      finish(() => {
        failed = true;
        reject(error);
      });
    // Ends the Worker (stopping whatever it runs) and fails the call.
    const kill = (error) => {
      if (this.#worker === worker) this.#worker = null;
      worker.terminate();
      fail(error);
    };
    // Armed only while the Worker owes an answer: a chunk it has not
    // processed yet, or the result after the input ended.
    // While loading, the bound is LOAD_TIMEOUT_MS (or timeoutMs if longer).
    const arm = () => {
      clearTimeout(timer);
      if (settled) return;
      if (loading) {
        const ms = Math.max(this.#timeoutMs, LOAD_TIMEOUT_MS);
        const message = `loading the component took longer than ${ms} ms; its Worker was terminated`;
        timer = setTimeout(() => kill(new TimeoutError(message)), ms);
      } else if (ended || sent > done) {
        const message = `a call into the component ran longer than ${this.#timeoutMs} ms (timeoutMs); its Worker was terminated`;
        timer = setTimeout(() => kill(new TimeoutError(message)), this.#timeoutMs);
      }
    };
    const onAbort = () => kill(new AbortError('aborted; the Worker was terminated', { cause: signal.reason }));
    signal?.addEventListener('abort', onAbort);

    worker.onExit = (why, outOfMemory) =>
      kill(
        outOfMemory
          ? new LimitError('memory', `the Worker ran out of JS heap (heapLimitBytes: ${this.#heapLimitBytes}); it was ended`)
          : new SandboxError(`the Worker stopped unexpectedly: ${why}`),
      );
    worker.onMessage = (msg) => {
      if (msg.id !== id) return;
      if (msg.type === 'loaded') {
        loading = false;
      } else if (msg.type === 'progress') {
        done = msg.bytes;
        onProgress?.(msg.bytes);
        wakePump();
      } else if (msg.type === 'output') {
        // Counted until the sink has taken it: the pump waits on this too,
        // so a slow sink slows the input instead of piling output up here.
        const data = msg.data;
        pendingOut += data.length;
        writes = writes.then(async () => {
          if (failed) return;
          await out.write(data);
          pendingOut -= data.length;
          wakePump();
        });
        // A sink that fails ends the call now: the pump would otherwise wait
        // on it for ever.
        writes.catch((e) => settled || kill(e));
      } else if (msg.type === 'done') {
        finish(() =>
          resolve(
            writes.then(async () => {
              if (op !== 'seal') return msg.result;
              await out.close();
              return { ...msg.result, data: out.data() };
            }),
          ),
        );
      } else if (msg.type === 'error') {
        fail(fromWire(msg.error));
      }
      arm();
    };

    worker.post({ type: 'start', id, op, options: wire, args, plugin });
    arm();
    if (input !== undefined) {
      pump().catch((e) => kill(e instanceof InputError ? e : new InputError(String(e?.message ?? e), { cause: e })));
    }

    async function pump() {
      for await (const chunk of chunks(input, size)) {
        while (!settled && (sent - done >= IN_FLIGHT * size || pendingOut > IN_FLIGHT * size)) {
          await new Promise((r) => (wakePump = r));
        }
        if (settled) return;
        const copy = chunk.slice(); // the chunker reuses its buffer; ours goes to the Worker
        // Counted before the transfer, which empties `copy` here.
        sent += copy.length;
        worker.post({ type: 'chunk', id, data: copy }, [copy.buffer]);
        arm();
      }
      if (settled) return;
      worker.post({ type: 'end', id });
      ended = true;
      arm();
    }

    try {
      return await promise;
    } catch (e) {
      await out?.abort(e);
      throw e;
    }
  }
}

function checkSignal(signal) {
  if (signal?.aborted) throw new AbortError('aborted', { cause: signal.reason });
}

function withResolvers() {
  let resolve, reject;
  const promise = new Promise((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** A plugin's location as the Worker gets it: absolute, so it means the same there. */
function wireComponent(component) {
  return component === undefined ? undefined : componentUrl(component).href;
}

/**
 * A started Worker that has said it is ready, behind one small interface.
 * In Node its JS heap is bounded (`resourceLimits`): past it Node ends the
 * Worker, not the process. Browsers offer no such bound.
 */
async function spawn(heapLimitBytes) {
  const handle = { onMessage: null, onExit: null };
  const ready = withResolvers();
  const message = (m) => (m.type === 'ready' ? ready.resolve() : handle.onMessage?.(m));
  const exit = (why, outOfMemory = false) => {
    ready.reject(new SandboxError(`the Worker could not start: ${why}`));
    handle.onExit?.(why, outOfMemory);
  };
  if (typeof Worker !== 'undefined') {
    const w = new Worker(WORKER_URL, { type: 'module' });
    w.onmessage = (e) => message(e.data);
    w.onerror = (e) => {
      e.preventDefault?.();
      exit(e.message ?? 'error');
    };
    handle.post = (m, t) => w.postMessage(m, t);
    handle.terminate = () => w.terminate();
  } else {
    const { Worker: NodeWorker } = await import('node:worker_threads');
    const w = new NodeWorker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: Math.floor(heapLimitBytes / 2 ** 20) },
    });
    w.unref(); // an idle Worker does not keep the process alive
    w.on('message', message);
    w.on('error', (e) => exit(e.message, e.code === 'ERR_WORKER_OUT_OF_MEMORY'));
    w.on('exit', (code) => exit(`exit code ${code}`));
    handle.post = (m, t) => w.postMessage(m, t);
    handle.terminate = () => {
      w.removeAllListeners('exit');
      w.terminate();
    };
  }
  await ready.promise;
  return handle;
}
