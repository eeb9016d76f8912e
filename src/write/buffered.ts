import { errnoCode, WriteError } from '../format/errors.js';
import type { ValidatedEvent } from '../format/schema/input.js';
import { humanBytes } from '../format/truncate.js';
import { exitFailure, type BatchContext, type BatchWriter, type Waiter } from './batch-writer.js';
import { registerExitFlush, unregisterExitFlush } from './exit-hook.js';
import { linesBuffer, type Formed } from './former.js';

/**
 * The `buffered` mode (format.md section 6): an event is formed at once (the receipt needs its seq)
 * and written later: every `flushMs`, on reaching `batchBytes`, on flush(), close() and from the exit
 * hook. A failed write keeps the events and is retried; past `maxBufferBytes` unwritten, append()
 * rejects.
 */
export class BufferedWriter implements BatchWriter {
  /** Formed lines not yet written, oldest first. */
  private unwritten: Formed[] = [];
  private unwrittenBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastWriteError: WriteError | undefined;
  /** A rotation waiting for the job's gate, which then writes the rest; flush() waits. */
  private rotating: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly ctx: BatchContext) {
    registerExitFlush(this);
  }

  append(event: ValidatedEvent, tsUs: number, correlationId: string, waiter: Waiter, index: number): void {
    const { settings } = this.ctx;
    if (this.unwrittenBytes >= settings.maxBufferBytes) return waiter.failed(index, this.overflow());
    let formed: Formed;
    try {
      formed = this.ctx.former.form(event, tsUs, correlationId);
    } catch (err) {
      return waiter.failed(index, err);
    }
    this.unwritten.push(formed);
    this.unwrittenBytes += formed.bytes;
    // While a rotation waits for the gate, it writes the rest itself once done.
    if (
      this.unwrittenBytes >= settings.batchBytes &&
      this.lastWriteError === undefined &&
      this.rotating === undefined
    ) {
      this.writeUnwritten();
    } else {
      this.scheduleFlush(settings.flushMs);
    }
    waiter.written(index, formed.receipt);
  }

  async flush(): Promise<void> {
    this.writeUnwritten();
    while (this.rotating !== undefined) await this.rotating;
    if (this.lastWriteError !== undefined) throw this.lastWriteError;
    await this.ctx.active.segment.sync();
  }

  async close(): Promise<{ failure: unknown; lost: number }> {
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
    return { failure, lost };
  }

  /** Called from the process 'exit' hook: buffered events are written and synced synchronously. */
  flushOnExit(): void {
    try {
      this.writeUnwritten(true);
      this.ctx.active.segment.syncSync();
    } catch (err) {
      this.ctx.report(exitFailure(err));
    }
  }

  private overflow(): WriteError {
    const cause = this.lastWriteError;
    return new WriteError(
      `${this.unwritten.length} events (${humanBytes(this.unwrittenBytes)}) are waiting to be written${cause ? ` after ${cause.code}` : ''}; this event was not accepted`,
      cause?.code ?? 'EBUSY',
      { cause },
    );
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
    const { active, former } = this.ctx;
    let done = 0;
    while (done < this.unwritten.length && (final || this.rotating === undefined)) {
      const batch = this.nextBatch(done);
      if (!this.writeBatch(batch)) break;
      done += batch.length;
      if (!final && active.rotationDue()) {
        // The next segment starts at the first event still unwritten when the rotation gets the gate.
        this.rotating = active
          .rotate(() => this.unwritten[0]?.record.seq ?? former.chain.seq + 1)
          .then(() => {
            this.rotating = undefined;
            this.writeUnwritten();
          });
      }
    }
    if (done > 0) this.unwritten = done === this.unwritten.length ? [] : this.unwritten.slice(done);
  }

  /** The unwritten events from `from` on that fit in the next batch (at least one). */
  private nextBatch(from: number): Formed[] {
    const room = this.ctx.active.batchRoom();
    const batch: Formed[] = [];
    let bytes = 0;
    for (let i = from; i < this.unwritten.length && (bytes === 0 || bytes < room); i++) {
      const formed = this.unwritten[i] as Formed;
      batch.push(formed);
      bytes += formed.bytes;
    }
    return batch;
  }

  /** Writes one batch; on failure reports (the first failure of a run) and schedules a retry. */
  private writeBatch(batch: Formed[]): boolean {
    const { active, settings } = this.ctx;
    const buffer = linesBuffer(batch);
    try {
      active.segment.appendSync(buffer);
    } catch (err) {
      const error = err instanceof WriteError ? err : new WriteError(String(err), errnoCode(err));
      const firstFailure = this.lastWriteError === undefined;
      this.lastWriteError = error;
      if (firstFailure) this.ctx.report(error);
      if (!this.closed) this.scheduleFlush(Math.min(5000, settings.flushMs * 10));
      return false;
    }
    active.committed(buffer, batch);
    this.unwrittenBytes -= buffer.length;
    this.lastWriteError = undefined;
    for (const formed of batch) this.ctx.sinks.write(formed.record, formed.line);
    return true;
  }
}
