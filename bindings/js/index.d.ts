// Types of the csvseal npm package. Written by hand: the package is plain
// ESM JavaScript (what is tested is what ships, no compile step), and these
// declarations are checked against a usage file by `tsc` in the tests.

/** Anything verify() and seal() read: bytes, a Blob/File, a stream, or chunks. */
export type Input = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** A `file_seq` value: a number, or a bigint above Number.MAX_SAFE_INTEGER (u64, never rounded). */
export type Seq = number | bigint;

export type ErrorKind =
  | 'malformed'
  | 'encoding'
  | 'bad-header'
  | 'missing-column'
  | 'checksum-mismatch'
  | 'sequence-violation'
  | 'schema'
  | 'torn-row'
  | 'limit'
  /** verify with `publicKey` but no `signature` (line 0). */
  | 'signature-missing'
  /** The signature is malformed, does not verify for these bytes, or its claims do not match the file (line 0). */
  | 'signature-invalid'
  /** Signed by a key not among `publicKey` (line 0). */
  | 'unknown-key';

/** One problem; `seq` and `column` are present only when known (as in the CLI's JSON). */
export interface RowError {
  kind: ErrorKind;
  /** 1-based physical line where the record starts (0: the whole file). */
  line: number;
  seq?: Seq;
  column?: string;
  message: string;
}

/** A jump in `file_seq` (a warning): `next - after - 1` numbers are missing. */
export interface SeqGap {
  line: number;
  after: Seq;
  next: Seq;
}

/** The per-file object of `csvseal verify --json` (without `path`). */
export declare class Report {
  valid: boolean;
  rows: number;
  first_seq: Seq | null;
  last_seq: Seq | null;
  columns: string[];
  gaps: SeqGap[];
  gap_count: number;
  errors: RowError[];
  error_count: number;
  errors_truncated: boolean;
  warnings: string[];
  /** Bytes read from the input. */
  bytes: number;
  /** Present only when verify was given `publicKey`: the signature check. */
  signature?: SignatureOutcome;
  /** Gives a plain object (e.g. one that crossed a Worker) the methods back. */
  static from(plain: object): Report;
  /** canonicalJson(this). */
  toCanonicalJSON(): string;
}

/**
 * The canonical JSON text (keys sorted, no whitespace, UTF-8 unescaped,
 * exact integers, one trailing newline): byte-identical to the CLI's and
 * the Python package's for the same input.
 */
export declare function canonicalJson(value: unknown): string;

export interface CommonOptions {
  /** Bytes per call into the component: 65536 to 1048576 (default 1048576). */
  chunkSize?: number;
  /** Cap on all of the component's linear memories together, 1 MiB to 4 GiB (default 512 MiB). */
  memoryLimitBytes?: number;
  /** Most bytes one call may copy out of the component (strings, bytes, list elements), at least 1 MiB (default 64 MiB). */
  maxOutputBytes?: number;
  /**
   * A plugin: the URL or path of a `.wasm` component implementing the `engine`
   * world (never JS). It is transpiled by the package; in browsers the page
   * must resolve `@bytecodealliance/jco-transpile/component` (bundler or import map).
   */
  component?: string | URL;
  /** Called after every chunk with the bytes processed so far. */
  onProgress?: (bytes: number) => void;
  /** Aborts the call (in a Worker: terminates the Worker). */
  signal?: AbortSignal;
  /** Errors kept in a report; later ones are only counted (default 1000). */
  maxErrors?: number;
  /** Largest record the component buffers, in bytes (default 64 MiB). */
  maxRecordBytes?: number | bigint;
  /** Most columns a header may have (default 100000). */
  maxColumns?: number;
  /** A Frictionless Table Schema, as JSON text or an object. */
  schema?: string | object;
}

export interface VerifyOptions extends CommonOptions {
  /**
   * Public key(s) to check the file's minisign signature with: the text of a
   * minisign `.pub` file, a keyring (such files concatenated), or several.
   * With it, the report gets `signature`, and anything but a valid signature
   * by one of these keys makes it invalid. Unreadable keys: OptionsError.
   */
  publicKey?: string | string[];
  /** The text of the file's `NAME.csv.minisig` (needs `publicKey`; missing: `signature-missing`). */
  signature?: string;
  /**
   * The file's name, held to the name the signature states (default: a
   * File's `name`; with neither, every claim but the name is checked).
   */
  fileName?: string;
}

/** What a csvseal signature's trusted comment states about its file (signed). */
export interface SignedClaims {
  file_name: string;
  rows: number;
  first_seq: Seq | null;
  last_seq: Seq | null;
  /** BLAKE2b-512 of the file's bytes, lowercase hex (what `b2sum` prints). */
  blake2b: string;
  /** The file before it in its series; null for a series' first file. */
  previous: { file_name: string; blake2b: string } | null;
}

/** A report's signature check, as the CLI's `verify --key --json` prints it. */
export interface SignatureOutcome {
  status: 'valid' | 'malformed' | 'unknown-key' | 'invalid' | 'missing';
  /** The signing key's ID (16 uppercase hex digits, as minisign prints it), when readable. */
  key_id: string | null;
  /** csvseal's claims; null for a plain minisign signature (no chain data) or when not authenticated. */
  claims: SignedClaims | null;
  /** Why, when not valid; empty when valid. */
  message: string;
}

export interface SealOptions extends CommonOptions {
  format?: 'csv' | 'jsonl';
  /** The input's columns when it has no header line. */
  header?: string[];
  /** A CSV input's field delimiter, one ASCII character (default `,`). Output is always `,`. */
  delimiter?: string;
  /** A CSV input's quote character (default `"`). */
  quote?: string;
  /** Whether a CSV input's first line is its header (default: true unless `header` is given). */
  hasHeader?: boolean;
  /** `file_seq` of the first row (default 1). */
  firstSeq?: number | bigint;
  /** Where sealed bytes go as they are made; default: collected into `data`. */
  output?: ((bytes: Uint8Array) => void | Promise<void>) | WritableStream<Uint8Array>;
}

/** Seal's summary: the CLI's `write --json` fields less `ok` and `path`. */
export interface SealSummary {
  columns: string[];
  rows: number;
  first_seq: Seq | null;
  last_seq: Seq | null;
  bytes: number;
}

export interface SealResult {
  summary: SealSummary;
  /** The sealed file, when no `output` was given. */
  data?: Uint8Array;
}

/** Verifies a sealed file. Bad content is a report (valid: false), never a throw. */
export declare function verify(input: Input, options?: VerifyOptions): Promise<Report>;

/**
 * Seals rows: adds `file_seq` and `checksum_sha256`. Rejects with SealError
 * (every row error) when the input cannot be sealed, and, with a plugin
 * (`component`), with OutputCheckError when its output fails csvseal's own
 * check, which comes after the last byte is sent to `output`; bytes already
 * sent to `output` are then not a sealed file. No file is written: atomic commits
 * are the CLI's and the Python package's job.
 */
export declare function seal(input: Input, options?: SealOptions): Promise<SealResult>;

/** seal() as a TransformStream; `summary` settles when the input ends. */
export declare function sealStream(options?: Omit<SealOptions, 'output'>): {
  writable: WritableStream<Uint8Array>;
  readable: ReadableStream<Uint8Array>;
  summary: Promise<SealSummary>;
};

/** The policy's compute_row_checksum: SHA-256 hex of the row, `checksum_sha256` excluded. */
export declare function rowChecksum(header: string[], fields: string[], options?: CommonOptions): Promise<string>;

export interface WorkerOptions {
  /** Silence from a busy Worker longer than this ends it (TimeoutError). Default 30000. */
  timeoutMs?: number;
  memoryLimitBytes?: number;
  maxOutputBytes?: number;
  /** A `.wasm` plugin, as in CommonOptions. */
  component?: string | URL;
  /** Node only: the Worker's JS heap (resourceLimits), at least 16 MiB (default 512 MiB); past it, LimitError. */
  heapLimitBytes?: number;
}

/** The same calls, in a Worker (browser Worker or Node worker_threads). */
export declare class CsvsealWorker {
  constructor(options?: WorkerOptions);
  warm(): Promise<void>;
  verify(input: Input, options?: VerifyOptions): Promise<Report>;
  seal(input: Input, options?: SealOptions): Promise<SealResult>;
  rowChecksum(header: string[], fields: string[], options?: CommonOptions): Promise<string>;
  /** Ends the Worker; a later call starts a new one. */
  terminate(): void;
}

/** A CsvsealWorker with the component already loaded. */
export declare function createWorker(options?: WorkerOptions): Promise<CsvsealWorker>;

export declare const MIN_CHUNK: 65536;
export declare const MAX_CHUNK: 1048576;
export declare const DEFAULT_MEMORY_LIMIT: number;
export declare const DEFAULT_MAX_OUTPUT: number;

export interface Engine {
  readonly memoryLimitBytes: number;
}
/** The (cached) engine for a component; mostly internal. */
export declare function loadEngine(options?: { component?: string | URL; memoryLimitBytes?: number }): Engine;

export declare class CsvsealError extends Error {}
/** An option has the wrong type or is out of range; nothing was read. */
export declare class OptionsError extends CsvsealError {}
/** The input is not an accepted type, or reading it failed. */
export declare class InputError extends CsvsealError {}
/** The component refused the Table Schema (or a seal header). */
export declare class SchemaError extends CsvsealError {}
/** A resource limit stopped the component: its memory (or the Worker's heap), its time, or what one call returned. */
export declare class LimitError extends CsvsealError {
  limit: 'memory' | 'cpu' | 'output';
  constructor(limit: 'memory' | 'cpu' | 'output', message: string);
}
/** A Worker call ran longer than `timeoutMs`; the Worker was terminated. */
export declare class TimeoutError extends LimitError {
  limit: 'cpu';
  constructor(message: string);
}
/** The component trapped, a plugin was refused, or its Worker died. */
export declare class SandboxError extends CsvsealError {}
/** The caller's AbortSignal fired. */
export declare class AbortError extends CsvsealError {}
/** Seal refused the input; nothing it emitted is a sealed file. */
export declare class SealError extends CsvsealError {
  errors: RowError[];
  error_count: number;
  errors_truncated: boolean;
}
/**
 * A plugin's sealed output failed csvseal's own check: it does not verify,
 * does not start at `firstSeq`, does not carry the input's columns, rows,
 * `file_seq`s and values, or its summary is not its output. Nothing it
 * emitted is a sealed file; bytes already sent to `output` are unchecked.
 */
export declare class OutputCheckError extends CsvsealError {
  failed: { check: 'valid' | 'first_seq' | 'columns' | 'rows' | 'values' | 'summary'; message: string }[];
  /** The built-in verifier's report on the plugin's output. */
  report: Report;
}
