import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uuidv7 } from '../format/uuid7.js';
import { chainKeyFromEnv, chainOf, keyCheckOf, type Chain } from '../format/chain.js';
import { formatMicros, nowMicros } from '../format/clock.js';
import { currentCorrelation, withCorrelation } from './correlation.js';
import { EchoSink, type EchoOption } from './echo.js';
import {
  errnoCode,
  EventsError,
  InvalidArgumentError,
  LockedError,
  LogClosedError,
  WriteError,
} from '../format/errors.js';
import { registerExitFlush, unregisterExitFlush } from './exit-hook.js';
import { fsyncDir, fsyncDirSync, mkdirDurable, pathExists } from '../storage/fsutil.js';
import { assertValidId, sanitizeIdPart } from '../format/ids.js';
import { acquireLock, type HeldLock } from '../storage/lock.js';
import { acquireJobGate, withJobGate } from '../storage/job-gate.js';
import { ensureManifest, type Manifest } from '../storage/manifest.js';
import {
  DEFAULT_EVENTS_DIR,
  lockFileName,
  parseSegmentFileName,
  segmentFileName,
  type SegmentName,
} from '../format/paths.js';
import { serializeRecord } from '../format/record.js';
import { recoverStream, segmentStartUs } from './recover.js';
import { currentSegmentFile, readableSegments } from '../storage/segments.js';
import { isCompressed, MAX_LINE_BYTES } from '../storage/line-reader.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { validateEvent, type EventInput, type ValidatedEvent } from '../format/schema/input.js';
import { SegmentFile } from '../storage/segment-file.js';
import { IndexAppender } from './index-appender.js';
import { DEFAULT_BLOCK_BYTES, readSegmentIndex, sealSegment } from '../storage/segment-index.js';
import { compressSegment } from '../storage/compress.js';
import { humanBytes, truncateLargestStrings } from '../format/truncate.js';
import {
  assertStreamWhole,
  recordNewestSegment,
  recordNewestSegmentSync,
  recordsSegmentSync,
} from '../storage/stream-records.js';

/**
 * When `append()` resolves (DESIGN.md section 3):
 * - `fsync`: the event is on disk (fdatasync); concurrent appends share one sync (group commit).
 * - `write`: the event was handed to the OS (survives a crash of this process, not a power cut).
 * - `buffered`: at once; written every `flushMs` or `batchBytes`, on `flush()`, `close()` and exit.
 */
export type Durability = 'fsync' | 'write' | 'buffered';

export interface EventLogOptions {
  jobId: string;
  /** The events directory; default `.mmm/mapreduce/events` under the current directory. */
  dir?: string;
  /** Default `main`, or `<host>-<pid>` when a live process holds `main`. */
  stream?: string;
  durability?: Durability;
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

interface Queued {
  event: ValidatedEvent;
  tsUs: number;
  correlationId: string;
  resolve: (receipt: Receipt) => void;
  reject: (error: unknown) => void;
}

interface Formed {
  record: EventRecord;
  line: string;
  receipt: Receipt;
}

interface ChainState {
  seq: number;
  prev: string;
}

const MIB = 1024 * 1024;
/** How many producer-supplied ids are remembered for idempotent retries. */
const REMEMBERED_IDS = 65_536;

export class EventLog {
  readonly jobId: string;
  readonly stream: string;
  /** The job's directory: `<dir>/<jobId>`. */
  readonly jobDir: string;
  readonly logId: string;
  readonly durability: Durability;

  private chain: ChainState;
  /** How `prev` is computed: SHA-256, or an HMAC for a keyed log. */
  private readonly hasher: Chain;
  private lastTsUs: number;
  private closed = false;
  private readonly queue: Queued[] = [];
  private draining: Promise<void> | undefined;
  /** buffered mode: formed lines not yet written, oldest first. */
  private unwritten: Formed[] = [];
  private unwrittenBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastWriteError: WriteError | undefined;
  private readonly ids = new Map<string, Promise<Receipt>>();
  /** buffered mode: a rotation waiting for the job's gate, which then writes the rest; flush() waits. */
  private rotating: Promise<void> | undefined;
  /** Seals of rotated segments still being computed; close() waits for them. */
  private readonly sealing = new Set<Promise<void>>();
  private lastEventType: string | undefined;
  private readonly compress: boolean;
  /** When the active segment's first event was written (ms), for rotateAgeMs. */
  private segmentStartedMs: number | undefined;
  private readonly echo: EchoSink | undefined;
  private readonly report: (error: EventsError) => void;

  private constructor(
    private segment: SegmentFile,
    private index: IndexAppender,
    private readonly lock: HeldLock,
    private readonly settings: Required<
      Pick<
        EventLogOptions,
        | 'flushMs'
        | 'batchBytes'
        | 'maxBufferBytes'
        | 'maxLineBytes'
        | 'rotateBytes'
        | 'rotateAgeMs'
        | 'indexBlockBytes'
      >
    >,
    init: {
      jobId: string;
      stream: string;
      jobDir: string;
      logId: string;
      durability: Durability;
      hasher: Chain;
      chain: ChainState;
      lastTsUs: number;
    },
    options: EventLogOptions,
  ) {
    this.jobId = init.jobId;
    this.stream = init.stream;
    this.jobDir = init.jobDir;
    this.logId = init.logId;
    this.durability = init.durability;
    this.chain = init.chain;
    this.hasher = init.hasher;
    this.lastTsUs = init.lastTsUs;
    this.compress = options.compress ?? true;
    this.report = options.onError ?? ((error) => process.stderr.write(`mmm-events: ${error.message}\n`));
    this.echo = options.echo === undefined ? undefined : EchoSink.create(options.echo, this.report);
    if (this.durability === 'buffered') registerExitFlush(this);
  }

  /** Opens (creating if needed) the log of a job and takes one of its streams for this process. */
  static async open(options: EventLogOptions): Promise<EventLog> {
    const jobId = assertValidId('job id', options.jobId);
    if (options.stream !== undefined) assertValidId('stream id', options.stream);
    const durability = options.durability ?? 'fsync';
    if (!['fsync', 'write', 'buffered'].includes(durability)) {
      throw new InvalidArgumentError(
        `durability must be fsync, write or buffered, not ${String(durability)}`,
      );
    }
    const settings = {
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
    };
    const jobDir = path.join(path.resolve(options.dir ?? DEFAULT_EVENTS_DIR), jobId);
    return ioErrors(`cannot open the log of job ${jobId} in ${jobDir}`, async () => {
      const key = options.hmacKey === undefined ? chainKeyFromEnv() : Buffer.from(options.hmacKey);
      // Under the job's gate, so that prune cannot remove the job between this check and the claim.
      const { manifest, chain, stream, lock } = await underJobGate(jobDir, async () => {
        const manifest = await ensureManifest(
          jobDir,
          jobId,
          key === undefined ? undefined : { keyCheck: keyCheckOf(key) },
        );
        if (options.hmacKey !== undefined && manifest.chain !== 'hmac-sha256') {
          throw new InvalidArgumentError(
            `the log of job ${jobId} was created without a key: its chain cannot become keyed`,
          );
        }
        // Refuses a keyed log without its key (and the reverse) before any stream is claimed.
        const chain = chainOf(manifest, key);
        const claimed = await claimStream(jobDir, jobId, options.stream);
        try {
          await assertStreamWhole(jobDir, manifest, claimed.stream);
        } catch (err) {
          await claimed.lock.release();
          throw err;
        }
        return { manifest, chain, ...claimed };
      });
      try {
        const tail = await recoverStream(
          jobDir,
          stream,
          manifest,
          (base) => segmentFileName(stream, base),
          chain,
        );
        if (tail.quarantined !== undefined) {
          // Not an error: a crash left half a line, which was never acknowledged.
          process.emitWarning(
            `moved a torn tail of ${tail.quarantined.bytes} bytes of stream ${stream} to ${tail.quarantined.file}`,
            { code: 'MMM_EVENTS_TORN_TAIL' },
          );
        }
        const file = path.join(jobDir, tail.segmentFile);
        const segment = await openActiveSegment(jobDir, stream, file, tail.size, manifest);
        // The index reports its failures through the log, which needs the index to be built.
        const owner: { log?: EventLog } = {};
        const index = await IndexAppender.reopen(file, tail.size, settings.indexBlockBytes, (err) =>
          owner.log?.indexFailed(err),
        );
        const log = (owner.log = new EventLog(
          segment,
          index,
          lock,
          settings,
          {
            jobId,
            stream,
            jobDir,
            logId: manifest.log_id,
            durability,
            hasher: chain,
            chain: { seq: tail.lastSeq, prev: tail.prev },
            lastTsUs: tail.lastTsUs,
          },
          options,
        ));
        // Older segments a crash left unsealed (between a rotation and its seal) are sealed now.
        for (const older of await unsealedOlderSegments(jobDir, stream, tail.segmentFile))
          void log.seal(older);
        if (tail.size > 0) {
          const startUs = await segmentStartUs(file);
          if (startUs !== undefined) log.segmentStartedMs = startUs / 1000;
        }
        for (const record of tail.recent) {
          log.remember(record.id, Promise.resolve(receiptOf(record)));
        }
        return log;
      } catch (err) {
        await lock.release();
        throw err;
      }
    });
  }

  /**
   * Appends one event. Resolves to its receipt when the event is as durable as `durability` says;
   * rejects with EventValidationError (nothing written), WriteError (the disk refused it) or
   * LogClosedError. An event whose producer-supplied `id` was already written is not written again:
   * the first receipt is returned.
   */
  append<T extends string>(event: EventInput<T>): Promise<Receipt> {
    if (this.closed) return Promise.reject(new LogClosedError(`the log of job ${this.jobId} is closed`));
    let valid: ValidatedEvent;
    try {
      valid = validateEvent(event);
    } catch (err) {
      return Promise.reject(err);
    }
    if (valid.id !== undefined) {
      const earlier = this.ids.get(valid.id);
      if (earlier !== undefined) return earlier;
    }
    const tsUs = this.nextTimestamp();
    const correlationId = valid.correlation_id ?? currentCorrelation() ?? this.jobId;
    const receipt =
      this.durability === 'buffered'
        ? this.appendBuffered(valid, tsUs, correlationId)
        : new Promise<Receipt>((resolve, reject) => {
            this.queue.push({ event: valid, tsUs, correlationId, resolve, reject });
            this.startDraining();
          });
    if (valid.id !== undefined) this.remember(valid.id, receipt);
    return receipt;
  }

  /** Runs `fn` with `correlationId` as the default correlation id of every event appended inside it. */
  withCorrelation<R>(correlationId: string, fn: () => R): R {
    return withCorrelation(correlationId, fn);
  }

  /** Resolves when everything appended so far is written and synced to disk. */
  async flush(): Promise<void> {
    if (this.durability === 'buffered') {
      this.writeUnwritten();
      while (this.rotating !== undefined) await this.rotating;
      if (this.lastWriteError !== undefined) throw this.lastWriteError;
    }
    while (this.draining !== undefined) await this.draining;
    if (this.durability !== 'fsync') await this.segment.sync();
  }

  /** Flushes, then releases the stream. Idempotent; appends after close reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let failure: unknown;
    try {
      await this.flush();
    } catch (err) {
      failure = err;
    }
    clearTimeout(this.flushTimer);
    unregisterExitFlush(this);
    const lost = this.unwritten.length;
    this.unwritten = [];
    this.index.close();
    this.segment.close();
    // A job that ended has its last segment sealed: a later writer (a resumed job) starts a new one.
    // One a rotation has just begun is empty: there is nothing to seal, the one before it is sealed.
    if (failure === undefined && lost === 0 && isTerminal(this.lastEventType) && this.segment.size > 0)
      void this.seal(this.segment.file);
    await Promise.all(this.sealing);
    await this.lock.release();
    if (failure !== undefined) {
      throw lost > 0 && failure instanceof WriteError
        ? new WriteError(`${lost} buffered events could not be written: ${failure.message}`, failure.code, {
            cause: failure,
          })
        : failure;
    }
  }

  /** The last seq formed in this stream (0 before the first event). */
  get lastSeq(): number {
    return this.chain.seq;
  }

  /** Called from the process 'exit' hook: buffered events are written and synced synchronously. */
  flushOnExit(): void {
    try {
      this.writeUnwritten(true);
      this.segment.syncSync();
    } catch (err) {
      this.report(err instanceof EventsError ? err : new WriteError(String(err), errnoCode(err)));
    }
  }

  private nextTimestamp(): number {
    // Never backwards within a stream, even if the wall clock steps back.
    this.lastTsUs = Math.max(nowMicros(), this.lastTsUs);
    return this.lastTsUs;
  }

  private remember(id: string, receipt: Promise<Receipt>): void {
    this.ids.set(id, receipt);
    // A failed append was not written, so a retry with the same id must be allowed to write it.
    receipt.catch(() => {
      if (this.ids.get(id) === receipt) this.ids.delete(id);
    });
    if (this.ids.size > REMEMBERED_IDS) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  /** Assigns seq, id and prev, and serialises: the event's place in the chain. */
  private form(event: ValidatedEvent, tsUs: number, correlationId: string): Formed {
    const seq = this.chain.seq + 1;
    const record: EventRecord = {
      seq,
      ts: formatMicros(tsUs),
      id: event.id ?? uuidv7(),
      job_id: this.jobId,
      stream: this.stream,
      event_type: event.event_type,
      severity: event.severity,
      agent_id: event.agent_id,
      correlation_id: correlationId,
      data: event.data as EventRecord['data'],
      meta: event.meta as EventRecord['meta'],
      prev: this.chain.prev,
    };
    let line = serializeRecord(record);
    const excess = Buffer.byteLength(line) - this.settings.maxLineBytes;
    if (excess > 0) {
      truncateLargestStrings(record, excess);
      line = serializeRecord(record);
      if (Buffer.byteLength(line) > this.settings.maxLineBytes) {
        throw new InvalidArgumentError(
          `${event.event_type} event is ${humanBytes(Buffer.byteLength(line))} even with its strings truncated (maxLineBytes ${humanBytes(this.settings.maxLineBytes)})`,
        );
      }
    }
    this.chain = { seq, prev: this.hasher.hash(line) };
    this.lastEventType = record.event_type;
    return { record, line: line + '\n', receipt: receiptOf(record) };
  }

  // fsync and write modes: one batch in flight; what arrives meanwhile forms the next batch.

  private startDraining(): void {
    if (this.draining !== undefined) return;
    // Start after the current tick, so appends issued together share the first batch too.
    this.draining = Promise.resolve()
      .then(() => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.queue.length > 0) this.startDraining();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const before = this.chain;
      const batch: { queued: Queued; formed: Formed }[] = [];
      let bytes = 0;
      const room = this.batchRoom();
      while (this.queue.length > 0 && bytes < room) {
        const queued = this.queue.shift() as Queued;
        try {
          const formed = this.form(queued.event, queued.tsUs, queued.correlationId);
          batch.push({ queued, formed });
          bytes += formed.line.length;
        } catch (err) {
          queued.reject(err);
        }
      }
      if (batch.length === 0) continue;
      const buffer = Buffer.from(batch.map((b) => b.formed.line).join(''));
      try {
        await this.segment.append(buffer);
        if (this.durability === 'fsync') await this.segment.sync();
      } catch (err) {
        this.chain = before;
        for (const { queued } of batch) queued.reject(err);
        continue;
      }
      this.segment.commit(buffer.length);
      this.index.add(batch.map((b) => b.formed));
      for (const { queued, formed } of batch) {
        queued.resolve(formed.receipt);
        this.echo?.write(formed.record, formed.line);
      }
      if (this.rotationDue()) await this.rotate();
    }
  }

  /** Whether the active segment is full (rotateBytes) or old (rotateAgeMs). */
  private rotationDue(): boolean {
    this.segmentStartedMs ??= Date.now();
    const tooOld = Date.now() - this.segmentStartedMs >= this.settings.rotateAgeMs;
    return this.segment.size >= this.settings.rotateBytes || tooOld;
  }

  /**
   * Seals the active segment and starts the next one, whose first record continues the seq and the
   * chain: between batches, holding the job's gate, because LOG.json records the new segment before a
   * line is written there (format.md section 3). A failure is reported and the writer keeps appending
   * to the full segment, trying again after the next batch.
   */
  private async rotate(): Promise<void> {
    let gate: HeldLock;
    try {
      gate = await acquireJobGate(this.jobDir);
    } catch (err) {
      this.report(asWriteError(err, `cannot rotate ${this.segment.file}`));
      return;
    }
    try {
      // Buffered mode forms events before writing them: the next segment starts at the first unwritten.
      this.startNextSegment(this.unwritten[0]?.record.seq ?? this.chain.seq + 1);
    } finally {
      await gate.release();
    }
  }

  /** The synchronous part of a rotation: nothing is written between choosing nextSeq and the swap. */
  private startNextSegment(nextSeq: number): void {
    const next = path.join(this.jobDir, segmentFileName(this.stream, nextSeq));
    let opened: SegmentFile | undefined;
    try {
      this.segment.syncSync();
      opened = SegmentFile.open(next, 0);
      opened.syncSync();
      fsyncDirSync(this.jobDir);
      recordNewestSegmentSync(this.jobDir, this.stream, nextSeq);
    } catch (err) {
      // Once LOG.json names the new segment (a directory sync failed after), it must stay: go on there.
      if (opened === undefined || !recordsSegmentSync(this.jobDir, this.stream, nextSeq)) {
        if (opened !== undefined) {
          opened.close();
          fs.rmSync(next, { force: true });
        }
        this.report(asWriteError(err, `cannot start ${next}`));
        return;
      }
      this.report(asWriteError(err, `started ${next}, but`));
    }
    const sealed = this.segment.file;
    this.index.close();
    this.segment.close();
    this.segment = opened;
    this.segmentStartedMs = undefined;
    this.index = IndexAppender.forNewSegment(next, this.settings.indexBlockBytes, (err) =>
      this.indexFailed(err),
    );
    this.seal(sealed);
  }

  /** Seals a segment, then compresses it, in the background; close() waits for both. */
  private seal(file: string): Promise<void> {
    const sealing = sealSegment(file, this.settings.indexBlockBytes, this.hasher)
      .then(async () => {
        if (this.compress) await compressSegment(file);
      })
      .catch((err: unknown) => this.report(asWriteError(err, `cannot seal or compress ${file}`)));
    this.sealing.add(sealing);
    void sealing.finally(() => this.sealing.delete(sealing));
    return sealing;
  }

  /** The index is derived data: a failure to write it is reported once, and appends go on. */
  indexFailed(err: unknown): void {
    this.report(
      new WriteError(
        `cannot update the index of ${this.segment.file} (readers will scan it): ${errnoCode(err)}`,
        errnoCode(err),
        {
          cause: err,
        },
      ),
    );
  }

  // buffered mode: formed at once (the receipt needs its seq), written later, retried on failure.

  private appendBuffered(event: ValidatedEvent, tsUs: number, correlationId: string): Promise<Receipt> {
    if (this.unwrittenBytes >= this.settings.maxBufferBytes) {
      const cause = this.lastWriteError;
      return Promise.reject(
        new WriteError(
          `${this.unwritten.length} events (${humanBytes(this.unwrittenBytes)}) are waiting to be written${cause ? ` after ${cause.code}` : ''}; this event was not accepted`,
          cause?.code ?? 'EBUSY',
          { cause },
        ),
      );
    }
    let formed: Formed;
    try {
      formed = this.form(event, tsUs, correlationId);
    } catch (err) {
      return Promise.reject(err);
    }
    this.unwritten.push(formed);
    this.unwrittenBytes += formed.line.length;
    // While a rotation waits for the gate, it writes the rest itself once done.
    if (
      this.unwrittenBytes >= this.settings.batchBytes &&
      this.lastWriteError === undefined &&
      this.rotating === undefined
    ) {
      this.writeUnwritten();
    } else {
      this.scheduleFlush(this.settings.flushMs);
    }
    return Promise.resolve(formed.receipt);
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.writeUnwritten();
    }, delayMs);
    this.flushTimer.unref();
  }

  /**
   * Writes what is buffered, a batch at a time; on failure keeps the rest, reports, and retries later.
   * A rotation needs the job's gate, so it runs apart and writes the rest when it is done; at exit
   * (`final`) everything goes to the segment there is.
   */
  private writeUnwritten(final = false): void {
    let done = 0;
    while (done < this.unwritten.length && (final || this.rotating === undefined)) {
      const room = this.batchRoom();
      const batch: Formed[] = [];
      let bytes = 0;
      for (let i = done; i < this.unwritten.length && (bytes === 0 || bytes < room); i++) {
        const formed = this.unwritten[i] as Formed;
        batch.push(formed);
        bytes += formed.line.length;
      }
      const buffer = Buffer.from(batch.map((f) => f.line).join(''));
      try {
        this.segment.appendSync(buffer);
      } catch (err) {
        const error = err instanceof WriteError ? err : new WriteError(String(err), errnoCode(err));
        const firstFailure = this.lastWriteError === undefined;
        this.lastWriteError = error;
        if (firstFailure) this.report(error);
        if (!this.closed) this.scheduleFlush(Math.min(5000, this.settings.flushMs * 10));
        break;
      }
      this.segment.commit(buffer.length);
      this.index.add(batch);
      done += batch.length;
      this.unwrittenBytes -= bytes;
      this.lastWriteError = undefined;
      for (const formed of batch) this.echo?.write(formed.record, formed.line);
      if (!final && this.rotationDue()) {
        // The next segment starts at the first event still unwritten when the rotation gets the gate.
        this.rotating = this.rotate().then(() => {
          this.rotating = undefined;
          this.writeUnwritten();
        });
      }
    }
    if (done > 0) this.unwritten = done === this.unwritten.length ? [] : this.unwritten.slice(done);
  }

  /**
   * How much the next batch may hold: a batch never runs past the point where the segment rotates;
   * past it (a rotation that failed, or at exit), a whole batch.
   */
  private batchRoom(): number {
    const left = this.settings.rotateBytes - this.segment.size;
    return left > 0 ? Math.min(this.settings.batchBytes, left) : this.settings.batchBytes;
  }
}

async function unsealedOlderSegments(jobDir: string, stream: string, active: string): Promise<string[]> {
  const unsealed: string[] = [];
  for (const segment of await readableSegments(jobDir, stream)) {
    if (segment.compressed || segment.file === active) continue;
    // Compressed (so sealed) or pruned since it was listed: nothing to seal.
    const current = await currentSegmentFile(path.join(jobDir, segment.file));
    if (current === undefined || isCompressed(current.file)) continue;
    const read = await readSegmentIndex(current.file, current.size);
    if (!('index' in read) || read.index.seal === undefined) unsealed.push(current.file);
  }
  return unsealed;
}

/**
 * Opens the segment a writer appends to. A new one is created, and LOG.json made to record it before a
 * line is written there (format.md section 3), in one step under the job's gate: verify, looking under
 * the gate, sees either neither or both.
 */
async function openActiveSegment(
  jobDir: string,
  stream: string,
  file: string,
  size: number,
  manifest: Manifest,
): Promise<SegmentFile> {
  const { baseSeq } = parseSegmentFileName(path.basename(file)) as SegmentName;
  if ((manifest.streams?.[stream]?.newest_segment ?? 0) >= baseSeq) return SegmentFile.open(file, size);
  return withJobGate(jobDir, async () => {
    const isNew = !(await pathExists(file));
    const segment = SegmentFile.open(file, size);
    try {
      if (isNew) {
        segment.syncSync();
        await fsyncDir(jobDir);
      }
      await recordNewestSegment(jobDir, stream, baseSeq);
      return segment;
    } catch (err) {
      segment.close();
      if (isNew) await fs.promises.rm(file, { force: true });
      throw err;
    }
  });
}

/** A failure as the typed error the writer reports: library errors as they are, errno failures named. */
function asWriteError(err: unknown, what: string): EventsError {
  if (err instanceof EventsError) return err;
  return new WriteError(`${what}: ${errnoCode(err)}`, errnoCode(err), { cause: err });
}

function isTerminal(eventType: string | undefined): boolean {
  return eventType === 'job_completed' || eventType === 'job_failed';
}

function receiptOf(record: EventRecord): Receipt {
  return { seq: record.seq, id: record.id, ts: record.ts, stream: record.stream };
}

/** Readers skip lines longer than MAX_LINE_BYTES (counted as corrupt): a writer never writes one. */
function atMost(name: string, value: number, limit: number): number {
  if (value > limit) throw new InvalidArgumentError(`${name} must be at most ${limit} (what readers read)`);
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`${name} must be a positive number`);
  return value;
}

/** `main` unless a live process holds it; then `<host>-<pid>` (and `-2`, `-3`, ... within one process). */
async function claimStream(
  jobDir: string,
  jobId: string,
  requested: string | undefined,
): Promise<{ stream: string; lock: HeldLock }> {
  const claim = async (stream: string) => ({
    stream,
    lock: await acquireLock(path.join(jobDir, lockFileName(stream)), `stream ${stream} of job ${jobId}`),
  });
  if (requested !== undefined) return claim(requested);
  const own = `${sanitizeIdPart(os.hostname())}-${process.pid}`;
  for (const candidate of ['main', own, ...Array.from({ length: 62 }, (_, i) => `${own}-${i + 2}`)]) {
    try {
      return await claim(candidate);
    } catch (err) {
      if (!(err instanceof LockedError)) throw err;
    }
  }
  throw new LockedError(`no free stream for job ${jobId} in this process`);
}

/**
 * Creates the job directory if needed and runs `claim` holding its gate. Prune moves a job it removes
 * out of the way under the gate: a writer that finds the directory gone meanwhile makes it again (a
 * new log of the same job id) and takes the gate there.
 */
async function underJobGate<T>(jobDir: string, claim: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await mkdirDurable(jobDir);
    let gate: HeldLock;
    try {
      gate = await acquireJobGate(jobDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && attempt < 100) continue;
      throw err;
    }
    try {
      return await claim();
    } finally {
      await gate.release();
    }
  }
}

/** Turns errno failures of opening into a WriteError naming what could not be done. */
async function ioErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EventsError) throw err;
    const code = errnoCode(err);
    throw new WriteError(`${what}: ${code} (${(err as Error).message})`, code, { cause: err });
  }
}
