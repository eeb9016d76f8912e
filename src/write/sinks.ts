import { EventsError, toError } from '../format/errors.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { EchoSink } from './echo.js';
import type { EventLogOptions, Report } from './options.js';

/**
 * An output a record goes to once the file has it (the file is the log; a sink is a copy for someone
 * watching, or the door to another system). `write` may return a promise: the sink's next record waits
 * for it, while the file log goes on. A sink that throws, rejects or falls behind never blocks or fails
 * an append: its records queue up to a bound, then are dropped and counted (docs/library.md, Sinks).
 */
export interface EventSink {
  /** How reports and `sinkStats()` name it. */
  readonly name?: string;
  write(record: EventRecord, line: string): void | Promise<void>;
  /** Called once, at the log's close, after the sink's queue drained or the time limit passed. */
  close?(): void | Promise<void>;
}

/** What one sink received, and what it lost (the file log has every record either way). */
export interface SinkStats {
  name: string;
  delivered: number;
  /** Records not given to the sink: its queue was full, or close's time limit passed. */
  dropped: number;
  /** Records whose `write` threw or rejected. */
  failed: number;
  queued: number;
}

/** A sink failed or fell behind; the file log is complete. Reported through `onError`. */
export class SinkError extends EventsError {}

/** The default bound of a sink's queue, in records. */
export const DEFAULT_SINK_QUEUE = 10_000;
/** How long close() waits for the sinks to drain by default. */
export const DEFAULT_SINK_CLOSE_MS = 5_000;

/**
 * One sink with its queue: records are written in order, one at a time; a synchronous sink is called
 * at once (no queueing cost on the hot path). Failures are reported once per run of failures.
 */
class SinkRunner {
  private queue: { record: EventRecord; line: string }[] = [];
  private head = 0;
  private busy = false;
  /** Set when close gave up on the sink: whatever it finishes later is no longer counted. */
  private abandoned = false;
  private closing = false;
  private failing = false;
  private dropping = false;
  private idle: (() => void) | undefined;
  readonly stats: SinkStats;

  constructor(
    private readonly sink: EventSink,
    name: string,
    private readonly limit: number,
    private readonly report: Report,
  ) {
    this.stats = { name, delivered: 0, dropped: 0, failed: 0, queued: 0 };
  }

  push(record: EventRecord, line: string): void {
    if (this.closing) return;
    if (this.queue.length - this.head >= this.limit) {
      this.stats.dropped++;
      if (!this.dropping) {
        this.dropping = true;
        this.report(
          new SinkError(
            `sink ${this.stats.name} is not keeping up: dropping records (the file log is complete)`,
          ),
        );
      }
      return;
    }
    this.dropping = false;
    this.queue.push({ record, line });
    if (!this.busy) this.pump();
  }

  /** Writes queued records until one returns a pending promise (pump resumes when it settles). */
  private pump(): void {
    this.busy = true;
    for (let next = this.take(); next !== undefined; next = this.take()) {
      let pending: unknown;
      try {
        pending = this.sink.write(next.record, next.line);
      } catch (err) {
        this.failed(err);
        continue;
      }
      if (isThenable(pending)) {
        Promise.resolve(pending)
          .then(
            () => this.delivered(),
            (err: unknown) => this.failed(err),
          )
          .finally(() => this.pump());
        return;
      }
      this.delivered();
    }
    this.busy = false;
    this.idle?.();
  }

  /** The oldest queued record; the array is compacted now and then rather than shifted each time. */
  private take(): { record: EventRecord; line: string } | undefined {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      return undefined;
    }
    const next = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return next;
  }

  private delivered(): void {
    if (this.abandoned) return;
    this.stats.delivered++;
    this.failing = false;
  }

  private failed(err: unknown): void {
    if (this.abandoned) return;
    this.stats.failed++;
    if (this.failing) return;
    this.failing = true;
    const message = toError(err).message;
    this.report(
      new SinkError(`sink ${this.stats.name} failed: ${message} (the file log is complete)`, { cause: err }),
    );
  }

  /** Waits for the queue to drain until `deadline`; what is left then is dropped. Then closes the sink. */
  async close(deadline: number): Promise<void> {
    this.closing = true;
    const drained = new Promise<void>((resolve) => {
      this.idle = resolve;
      if (!this.busy) resolve();
    });
    if (!(await within(drained, deadline))) {
      // What is queued, and the record the sink is still busy with.
      const left = this.queue.length - this.head + 1;
      this.abandoned = true;
      this.queue = [];
      this.head = 0;
      this.stats.dropped += left;
      this.report(
        new SinkError(`sink ${this.stats.name} did not drain in time: ${left} records not delivered`),
      );
    }
    try {
      if (!(await within(Promise.resolve(this.sink.close?.()), deadline)))
        this.report(new SinkError(`sink ${this.stats.name} did not close in time`));
    } catch (err) {
      this.report(new SinkError(`sink ${this.stats.name} failed to close: ${String(err)}`, { cause: err }));
    }
  }

  snapshot(): SinkStats {
    return { ...this.stats, queued: this.queue.length - this.head };
  }
}

/** A promise, or anything with a then() (a sink may return another library's promise). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** Resolves true when `promise` settles by `deadline` (its rejection is thrown), false after it. */
async function within(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every output of a log besides its file: the echo (if asked for) and the caller's sinks. */
export class Sinks {
  private readonly runners: SinkRunner[];

  constructor(
    sinks: readonly { sink: EventSink; name: string }[],
    limit: number,
    private readonly closeMs: number,
    report: Report,
  ) {
    this.runners = sinks.map(({ sink, name }) => new SinkRunner(sink, name, limit, report));
  }

  static open(options: EventLogOptions, report: Report): Sinks {
    const named = (options.sinks ?? []).map((sink, i) => ({ sink, name: sink.name ?? `#${i + 1}` }));
    if (options.echo !== undefined)
      named.unshift({ sink: EchoSink.create(options.echo, report), name: 'echo' });
    return new Sinks(
      named,
      options.sinkQueue ?? DEFAULT_SINK_QUEUE,
      options.sinkCloseMs ?? DEFAULT_SINK_CLOSE_MS,
      report,
    );
  }

  /** Hands one record, durable in the file, to every sink. */
  write(record: EventRecord, line: string): void {
    for (const runner of this.runners) runner.push(record, line);
  }

  /** Drains every sink (in parallel, for at most `closeMs` in all) and closes them. */
  async close(): Promise<void> {
    const deadline = Date.now() + this.closeMs;
    await Promise.all(this.runners.map((runner) => runner.close(deadline)));
  }

  stats(): SinkStats[] {
    return this.runners.map((runner) => runner.snapshot());
  }
}
