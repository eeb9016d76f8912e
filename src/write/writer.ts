import { nowMicros } from '../format/clock.js';
import { InvalidArgumentError, LogClosedError, WriteError } from '../format/errors.js';
import { validateEvent, type EventInput, type ValidatedEvent } from '../format/schema/input.js';
import type { HeldLock } from '../storage/lock.js';
import { GroupWaiter, OneWaiter, type AppendOutcome, type BatchWriter } from './batch-writer.js';
import { BufferedWriter } from './buffered.js';
import { currentCorrelation, withCorrelation } from './correlation.js';
import { EventFormer, receiptOf } from './former.js';
import { GroupCommitWriter } from './group-commit.js';
import { openStream, type OpenedStream } from './open.js';
import {
  reporterOf,
  validateOptions,
  type Durability,
  type EventLogOptions,
  type Receipt,
  type Report,
  type Settings,
} from './options.js';
import { RememberedIds } from './remembered-ids.js';
import { indexError, type ActiveSegment } from './rotation.js';
import { Sinks, type SinkStats } from './sinks.js';

export type { Durability, EventLogOptions, Receipt } from './options.js';
export type { AppendOutcome } from './batch-writer.js';

/**
 * The writer of one stream of a job's log (format.md section 6). Opening is in open.ts, forming
 * records in former.ts, the durability mode in group-commit.ts or buffered.ts (chosen once, here),
 * rotation in rotation.ts, and outputs besides the file in sinks.ts.
 */
export class EventLog {
  readonly jobId: string;
  readonly stream: string;
  /** The job's directory: `<dir>/<jobId>`. */
  readonly jobDir: string;
  readonly logId: string;
  readonly durability: Durability;

  private closed = false;
  private lastTsUs: number;
  private readonly former: EventFormer;
  private readonly active: ActiveSegment;
  private readonly lock: HeldLock;
  private readonly sinks: Sinks;
  private readonly batches: BatchWriter;
  private readonly ids = new RememberedIds();

  private constructor(
    jobId: string,
    durability: Durability,
    settings: Settings,
    opened: OpenedStream,
    sinks: Sinks,
    private readonly report: Report,
  ) {
    this.jobId = jobId;
    this.stream = opened.stream;
    this.jobDir = opened.jobDir;
    this.logId = opened.logId;
    this.durability = durability;
    this.lastTsUs = opened.lastTsUs;
    this.lock = opened.lock;
    this.active = opened.active;
    this.sinks = sinks;
    this.former = new EventFormer(jobId, opened.stream, opened.hasher, settings.maxLineBytes, opened.chain);
    const ctx = { former: this.former, active: this.active, sinks, settings, report };
    this.batches =
      durability === 'buffered'
        ? new BufferedWriter(ctx)
        : new GroupCommitWriter(ctx, durability === 'fsync');
    for (const record of opened.recent) this.ids.remember(record.id, Promise.resolve(receiptOf(record)));
  }

  /** Opens (creating if needed) the log of a job and takes one of its streams for this process. */
  static async open(options: EventLogOptions): Promise<EventLog> {
    const { jobId, durability, settings } = validateOptions(options);
    const report = reporterOf(options);
    return openStream(jobId, options, settings, report, (opened) => {
      const sinks = Sinks.open(options, report);
      return new EventLog(jobId, durability, settings, opened, sinks, report);
    });
  }

  /**
   * Appends one event. Resolves to its receipt when the event is as durable as `durability` says;
   * rejects with EventValidationError (nothing written), WriteError (the disk refused it) or
   * LogClosedError. An event whose producer-supplied `id` was already written is not written again:
   * the first receipt is returned.
   */
  append<T extends string>(event: EventInput<T>): Promise<Receipt> {
    if (this.closed) return Promise.reject(this.closedError());
    const waiter = new OneWaiter();
    this.appendTo(event, waiter, 0);
    return waiter.promise;
  }

  /**
   * Appends several events, in order, as append() would each; resolves once all have ended, to one
   * outcome per event: its receipt, or the error that refused it (an invalid event does not stop the
   * others). For a producer with many events at hand (`events ingest`): one promise for all of them.
   */
  appendMany(events: readonly EventInput[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(this.closedError());
    if (!Array.isArray(events)) {
      return Promise.reject(new InvalidArgumentError('appendMany takes an array of events'));
    }
    const waiter = new GroupWaiter(events.length);
    for (let i = 0; i < events.length; i++) this.appendTo(events[i], waiter, i);
    return waiter.promise;
  }

  /**
   * @internal `events collect`'s append (src/nats/collector.ts) of an event it has validated: an event
   * a remote writer formed keeps the time it was given there (never earlier than the stream's last,
   * format.md section 2).
   * `duplicate`: its id was already written (a redelivery), and nothing was written now.
   */
  appendAt(valid: ValidatedEvent, tsUs: number): Promise<{ receipt: Receipt; duplicate: boolean }> {
    if (this.closed) return Promise.reject(this.closedError());
    const waiter = new OneWaiter();
    const duplicate = this.appendValid(valid, waiter, 0, tsUs);
    return waiter.promise.then((receipt) => ({ receipt, duplicate }));
  }

  private appendTo(event: unknown, waiter: OneWaiter | GroupWaiter, index: number): void {
    let valid: ValidatedEvent;
    try {
      valid = validateEvent(event);
    } catch (err) {
      return waiter.failed(index, err);
    }
    this.appendValid(valid, waiter, index);
  }

  /**
   * Queues a validated event for its batch; true when its id was already written (or is being
   * written), which then settles `waiter` with the first receipt and writes nothing.
   */
  private appendValid(
    valid: ValidatedEvent,
    waiter: OneWaiter | GroupWaiter,
    index: number,
    tsUs?: number,
  ): boolean {
    if (valid.id !== undefined) {
      const earlier = this.ids.get(valid.id);
      if (earlier !== undefined) {
        earlier.then(
          (receipt) => waiter.written(index, receipt),
          (err: unknown) => waiter.failed(index, err),
        );
        return true;
      }
      this.ids.remember(valid.id, waiter instanceof OneWaiter ? waiter.promise : waiter.track(index));
    }
    const ts = this.nextTimestamp(tsUs);
    const correlationId = valid.correlation_id ?? currentCorrelation() ?? this.jobId;
    this.batches.append(valid, ts, correlationId, waiter, index);
    return false;
  }

  private closedError(): LogClosedError {
    return new LogClosedError(`the log of job ${this.jobId} is closed`);
  }

  /** Runs `fn` with `correlationId` as the default correlation id of every event appended inside it. */
  withCorrelation<R>(correlationId: string, fn: () => R): R {
    return withCorrelation(correlationId, fn);
  }

  /** Resolves when everything appended so far is written and synced to disk. */
  async flush(): Promise<void> {
    await this.batches.flush();
  }

  /** Flushes, then releases the stream. Idempotent; appends after close reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { failure, lost } = await this.batches.close();
    const known = this.active.close();
    // A job that ended has its last segment sealed: a later writer (a resumed job) starts a new one.
    // One a rotation has just begun is empty: there is nothing to seal, the one before it is sealed.
    const ended = this.former.lastEventType === 'job_completed' || this.former.lastEventType === 'job_failed';
    if (failure === undefined && lost === 0 && ended && this.active.segment.size > 0)
      void this.active.seal(this.active.segment.file, known);
    // The sinks drain (bounded by sinkCloseMs) while the segment settles; the stream is released
    // without waiting for them.
    const sinksClosed = this.sinks.close();
    await this.active.settled();
    await this.lock.release();
    await sinksClosed;
    if (failure !== undefined) {
      throw lost > 0 && failure instanceof WriteError
        ? new WriteError(`${lost} buffered events could not be written: ${failure.message}`, failure.code, {
            cause: failure,
          })
        : failure;
    }
  }

  /** What each sink received and lost (the echo is named `echo`). */
  sinkStats(): SinkStats[] {
    return this.sinks.stats();
  }

  /** The last seq formed in this stream (0 before the first event). */
  get lastSeq(): number {
    return this.former.chain.seq;
  }

  /** Called from the process 'exit' hook: buffered events are written and synced synchronously. */
  flushOnExit(): void {
    this.batches.flushOnExit();
  }

  /** The index is derived data: a failure to write it is reported once, and appends go on. */
  indexFailed(err: unknown): void {
    this.report(indexError(this.active.segment.file, err));
  }

  private nextTimestamp(given = nowMicros()): number {
    // Never backwards within a stream, even if the wall clock steps back.
    this.lastTsUs = Math.max(given, this.lastTsUs);
    return this.lastTsUs;
  }
}
