// Compiled by `tsc --noEmit` in types.test.js: the declarations must accept
// real use and refuse wrong use (the @ts-expect-error lines).
import {
  type Report,
  type RowError,
  LimitError,
  OutputCheckError,
  SealError,
  TimeoutError,
  canonicalJson,
  createWorker,
  rowChecksum,
  seal,
  sealStream,
  verify,
} from 'csvseal';

export async function use(file: Blob, bytes: Uint8Array, stream: ReadableStream<Uint8Array>): Promise<string> {
  const report: Report = await verify(file, { maxErrors: 10, chunkSize: 65536, onProgress: (n: number) => void n });
  const first: RowError | undefined = report.errors[0];
  const seq: number | bigint | undefined = first?.seq;
  void seq;
  const kind: 'torn-row' | string = first?.kind ?? '';
  void kind;
  await verify(stream, { schema: { fields: [] } });
  const { summary, data } = await seal(bytes, { firstSeq: 10n, header: ['a'] });
  void summary.rows;
  void data?.length;
  const s = sealStream({ format: 'jsonl' });
  void s.readable;
  const worker = await createWorker({ timeoutMs: 1000, heapLimitBytes: 256 << 20, component: 'plugin.wasm' });
  try {
    await worker.verify(bytes, { maxOutputBytes: 32 << 20, component: new URL('file:///p/plugin.wasm') });
  } catch (e) {
    if (e instanceof TimeoutError) void e.limit;
    if (e instanceof LimitError && e.limit === 'output') void e.message;
    if (e instanceof SealError) void e.errors[0]?.line;
    if (e instanceof OutputCheckError) void [e.failed[0]?.check === 'values', e.report.valid];
  }
  const signed = await verify(file, { signature: 'untrusted comment: …', publicKey: ['k1', 'k2'], fileName: 'a.csv' });
  if (signed.signature?.status === 'unknown-key') void signed.signature.key_id;
  void signed.signature?.claims?.previous?.blake2b;
  void (signed.errors[0]?.kind === 'signature-invalid');
  // @ts-expect-error a public key is text, not bytes
  await verify(bytes, { publicKey: new Uint8Array(2) });
  // @ts-expect-error a string is not an input
  await verify('a,b\n');
  // @ts-expect-error max_errors is the JSON spelling, not the option
  await verify(bytes, { max_errors: 3 });
  // @ts-expect-error a Worker's heap limit is a number of bytes
  await createWorker({ heapLimitBytes: '1g' });
  // @ts-expect-error seal formats are csv and jsonl
  await seal(bytes, { format: 'xml' });
  return canonicalJson(report) + (await rowChecksum(['a'], ['1']));
}
