// The Worker side of CsvsealWorker (browser Worker or Node worker_threads):
// runs one operation at a time on chunks the main thread sends, and reports
// progress after every call into the component, which is also the
// heartbeat the main thread's timeout watches.

import { toWire } from './errors.js';
import { loadEngine, providePlugin } from './engine.js';
import { rowChecksum, seal, verify } from './run.js';

const port = await connect();
let current = null;

port.listen(async (msg) => {
  switch (msg.type) {
    case 'start':
      current = { id: msg.id, queue: new ChunkQueue() };
      await run(msg, current.queue);
      current = null;
      break;
    case 'chunk':
      current?.queue.push(msg.data);
      break;
    case 'end':
      current?.queue.end();
      break;
  }
});
port.post({ type: 'ready' });

async function run({ id, op, options, args, plugin }, queue) {
  const onProgress = (bytes) => port.post({ type: 'progress', id, bytes });
  try {
    if (plugin) providePlugin(options.component, plugin);
    // Transpiling and compiling a plugin is not a call into it: the main
    // thread gives it its own, longer timeout until we say it is done.
    await loadEngine({ component: options.component, memoryLimitBytes: options.memoryLimitBytes }).load();
    port.post({ type: 'loaded', id });
    let result;
    if (op === 'verify') {
      result = await verify(queue, { ...options, onProgress });
    } else if (op === 'seal') {
      const output = (data) => port.post({ type: 'output', id, data }, [data.buffer]);
      result = await seal(queue, { ...options, onProgress, output });
    } else if (op === 'rowChecksum') {
      result = await rowChecksum(args[0], args[1], options);
    } else if (op === 'warm') {
      // Load and compile the engine now, so the first real call is quick.
      result = await rowChecksum(['a'], ['1'], options);
    }
    port.post({ type: 'done', id, result });
  } catch (e) {
    port.post({ type: 'error', id, error: toWire(e) });
  }
}

/** Chunks as they arrive, as an AsyncIterable for verify/seal. */
class ChunkQueue {
  #items = [];
  #ended = false;
  #wake = null;
  push(data) {
    this.#items.push(data);
    this.#wake?.();
  }
  end() {
    this.#ended = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      if (this.#items.length) {
        yield this.#items.shift();
      } else if (this.#ended) {
        return;
      } else {
        await new Promise((resolve) => (this.#wake = resolve));
        this.#wake = null;
      }
    }
  }
}

async function connect() {
  if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
    return {
      listen: (f) => (self.onmessage = (e) => f(e.data)),
      post: (m, transfer = []) => self.postMessage(m, transfer),
    };
  }
  const { parentPort } = await import('node:worker_threads');
  return {
    listen: (f) => parentPort.on('message', f),
    post: (m, transfer = []) => parentPort.postMessage(m, transfer),
  };
}
