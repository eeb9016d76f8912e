import { EventsError, InvalidArgumentError } from '../format/errors.js';
import { assertValidId } from '../format/ids.js';
import { MAX_LINE_BYTES } from '../storage/line-reader.js';
import { DEFAULT_BLOCK_BYTES } from '../storage/segment-index.js';
import type { EchoOption } from './echo.js';
import type { EventSink } from './sinks.js';

/**
 * When `append()` resolves (format.md section 6):
 * - `fsync`: the event is on disk (fdatasync); concurrent appends share one sync (group commit).
 * - `write`: the event was handed to the OS (survives a crash of this process, not a power cut).
 * - `buffered`: at once; written every `flushMs` or `batchBytes`, on `flush()`, `close()` and exit.
 */
export type Durability = 'fsync' | 'write' | 'buffered';

export interface EventLogOptions {
  jobId: string;
  /** The events directory; default $MMM_EVENTS_DIR, else `.mmm/mapreduce/events` under the current directory. */
  dir?: string;
  /** Default `main`, or `<host>-<pid>` when a live process holds `main`. */
  stream?: string;
  durability?: Durability;
  /** An explicit `stream` held by a live writer: wait up to this long for it. Default 0 (LockedError at once). */
  streamWaitMs?: number;
  /** buffered: how long an event may wait in memory. Default 100 ms. */
  flushMs?: number;
  /** The most bytes written in one batch; in buffered mode, reaching it writes at once. Default 1 MiB. */
  batchBytes?: number;
  /** buffered: unwritten bytes (a slow or failing disk) beyond which `append()` rejects. Default 64 MiB. */
  maxBufferBytes?: number;
  /** Lines longer than this have their largest strings truncated. Default 1 MiB. */
  maxLineBytes?: number;
  /** The active segment is sealed and a new one started once it holds this many bytes. Default 100 MiB. */
  rotateBytes?: number;
  /** ... or once its first event is this old (checked when appending). Default 24 h. */
  rotateAgeMs?: number;
  /** The size of a block of the segment index (`.idx`). Default 128 KiB. */
  indexBlockBytes?: number;
  /** Compress sealed segments (multi-member gzip) in the background. Default true. */
  compress?: boolean;
  /**
   * Key the hash chain (HMAC-SHA256) so that only holders of the key can recompute it. Default: the
   * `EVENTS_HMAC_KEY` environment variable (or the file named by `EVENTS_HMAC_KEY_FILE`). A job's log
   * is keyed or not from its creation on.
   */
  hmacKey?: string | Buffer;
  /** Also print every record to stdout (or a given stream), after the file has it. */
  echo?: EchoOption;
  /**
   * Outputs besides the file: each receives every record once the file has it, in order, never
   * blocking or failing the log (docs/library.md, Sinks). The echo, when asked for, comes first.
   */
  sinks?: EventSink[];
  /** How many records a sink may fall behind before its records are dropped (counted). Default 10,000. */
  sinkQueue?: number;
  /** How long close() waits for the sinks to drain, in all. Default 5,000 ms. */
  sinkCloseMs?: number;
  /**
   * `fsync` and `write` modes: after a write fails, every append waiting and every later one rejects
   * too (reopen the log to go on), so that no event is ever written after one that was not. Default
   * false: the failed batch is rejected and later appends are tried. For producers whose order
   * matters, such as `events collect`.
   */
  stopAfterWriteFailure?: boolean;
  /** Failures nobody awaits: buffered writes, the echo output. Default: one line on stderr. */
  onError?: (error: EventsError) => void;
}

/** What `append()` resolves to. */
export interface Receipt {
  seq: number;
  id: string;
  ts: string;
  stream: string;
}

/** The sizes, times and failure rule a writer works with, checked once at open. */
export type Settings = Required<
  Pick<
    EventLogOptions,
    | 'flushMs'
    | 'batchBytes'
    | 'maxBufferBytes'
    | 'maxLineBytes'
    | 'rotateBytes'
    | 'rotateAgeMs'
    | 'indexBlockBytes'
    | 'stopAfterWriteFailure'
  >
>;

/** Where failures nobody awaits go. */
export type Report = (error: EventsError) => void;

const MIB = 1024 * 1024;

/** Checks the options before anything is touched on disk. */
export function validateOptions(options: EventLogOptions): {
  jobId: string;
  durability: Durability;
  settings: Settings;
} {
  const jobId = assertValidId('job id', options.jobId);
  if (options.stream !== undefined) assertValidId('stream id', options.stream);
  const durability = options.durability ?? 'fsync';
  if (!['fsync', 'write', 'buffered'].includes(durability)) {
    throw new InvalidArgumentError(`durability must be fsync, write or buffered, not ${String(durability)}`);
  }
  const settings: Settings = {
    flushMs: positive('flushMs', options.flushMs ?? 100),
    batchBytes: positive('batchBytes', options.batchBytes ?? MIB),
    maxBufferBytes: positive('maxBufferBytes', options.maxBufferBytes ?? 64 * MIB),
    maxLineBytes: atMost(
      'maxLineBytes',
      positive('maxLineBytes', options.maxLineBytes ?? MIB),
      MAX_LINE_BYTES,
    ),
    rotateBytes: positive('rotateBytes', options.rotateBytes ?? 100 * MIB),
    rotateAgeMs: positive('rotateAgeMs', options.rotateAgeMs ?? 24 * 3600 * 1000),
    indexBlockBytes: positive('indexBlockBytes', options.indexBlockBytes ?? DEFAULT_BLOCK_BYTES),
    stopAfterWriteFailure: options.stopAfterWriteFailure === true,
  };
  if (options.streamWaitMs !== undefined && !(options.streamWaitMs >= 0))
    throw new InvalidArgumentError('streamWaitMs must be a number of milliseconds, 0 or more');
  if (options.sinkQueue !== undefined) positive('sinkQueue', options.sinkQueue);
  if (options.sinkCloseMs !== undefined) positive('sinkCloseMs', options.sinkCloseMs);
  for (const sink of options.sinks ?? []) {
    if (typeof sink?.write !== 'function')
      throw new InvalidArgumentError('every sink must have a write(record, line) method');
  }
  return { jobId, durability, settings };
}

/** The `onError` option, or one line on stderr. */
export function reporterOf(options: EventLogOptions): Report {
  const onError = options.onError;
  if (onError === undefined) return (error) => process.stderr.write(`mmm-events: ${error.message}\n`);
  // The hook runs inside the writer's batch loop: one that throws must not stop appends from resolving.
  return (error) => {
    try {
      onError(error);
    } catch (err) {
      process.emitWarning(
        `onError threw while reporting "${error.message}": ${String(err)}`,
        'MMM_EVENTS_ON_ERROR',
      );
    }
  };
}

/** Readers skip lines longer than MAX_LINE_BYTES (counted as corrupt): a writer never writes one. */
function atMost(name: string, value: number, limit: number): number {
  if (value > limit) throw new InvalidArgumentError(`${name} must be at most ${limit} (what readers read)`);
  return value;
}

export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`${name} must be a positive number`);
  return value;
}
