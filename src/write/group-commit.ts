import { errnoCode, toError, WriteError } from '../format/errors.js';
import type { ValidatedEvent } from '../format/schema/input.js';
import { exitFailure, type BatchContext, type BatchWriter, type Waiter } from './batch-writer.js';
import { linesBuffer, type Formed } from './former.js';

interface Queued {
  event: ValidatedEvent;
  tsUs: number;
  correlationId: string;
  waiter: Waiter;
  index: number;
}

/**
 * The `fsync` and `write` modes (format.md section 6): one batch in flight; what arrives meanwhile
 * forms the next batch, so concurrent appends share one write (and, with `fsync`, one sync).
 */
export class GroupCommitWriter implements BatchWriter {
  /** Appends not yet formed: `queue[head]` is the oldest (an index, not shift(): O(1) per event). */
  private queue: Queued[] = [];
  private head = 0;
  private draining: Promise<void> | undefined;
  /** Set once a write failed with stopAfterWriteFailure: why every append is now refused. */
  private stoppedBy: WriteError | undefined;

  constructor(
    private readonly ctx: BatchContext,
    /** `fsync`: each batch is synced before its appends resolve; `write`: flush() syncs. */
    private readonly syncEachBatch: boolean,
  ) {}

  append(event: ValidatedEvent, tsUs: number, correlationId: string, waiter: Waiter, index: number): void {
    if (this.stoppedBy !== undefined) return waiter.failed(index, this.stoppedBy);
    this.queue.push({ event, tsUs, correlationId, waiter, index });
    this.startDraining();
  }

  async flush(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
    if (!this.syncEachBatch) await this.ctx.active.segment.sync();
  }

  async close(): Promise<{ failure: unknown; lost: number }> {
    try {
      await this.flush();
      return { failure: undefined, lost: 0 };
    } catch (err) {
      return { failure: err, lost: 0 };
    }
  }

  /** Every append was written when it resolved: at exit there is only the sync. */
  flushOnExit(): void {
    try {
      this.ctx.active.segment.syncSync();
    } catch (err) {
      this.ctx.report(exitFailure(err));
    }
  }

  private startDraining(): void {
    if (this.draining !== undefined) return;
    // Start after the current tick, so appends issued together share the first batch too.
    this.draining = Promise.resolve()
      .then(() => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.waiting() > 0) this.startDraining();
      });
  }

  private async drain(): Promise<void> {
    const { active, former } = this.ctx;
    while (this.waiting() > 0) {
      const before = former.chain;
      const { queued, formed } = this.formBatch();
      if (formed.length === 0) continue;
      const buffer = linesBuffer(formed);
      try {
        await active.segment.append(buffer);
        if (this.syncEachBatch) await active.segment.sync();
      } catch (err) {
        // Not written: the next batch takes these seqs (format.md section 6).
        former.chain = before;
        for (const q of queued) q.waiter.failed(q.index, err);
        if (this.ctx.settings.stopAfterWriteFailure) this.stop(err);
        continue;
      }
      active.committed(buffer, formed);
      for (let i = 0; i < formed.length; i++) {
        const q = queued[i] as Queued;
        q.waiter.written(q.index, (formed[i] as Formed).receipt);
      }
      for (const f of formed) this.ctx.sinks.write(f.record, f.line);
      if (active.rotationDue()) await active.rotate(() => former.chain.seq + 1);
    }
  }

  /**
   * Forms the queued events that fit in the next batch (two parallel arrays: no object per event);
   * one that cannot be formed is rejected alone.
   */
  private formBatch(): { queued: Queued[]; formed: Formed[] } {
    const queued: Queued[] = [];
    const formed: Formed[] = [];
    let bytes = 0;
    const room = this.ctx.active.batchRoom();
    while (this.head < this.queue.length && bytes < room) {
      const q = this.queue[this.head++] as Queued;
      try {
        const f = this.ctx.former.form(q.event, q.tsUs, q.correlationId);
        queued.push(q);
        formed.push(f);
        bytes += f.bytes;
      } catch (err) {
        q.waiter.failed(q.index, err);
      }
    }
    // Drop what was taken: all of it when the queue is empty, else once it is most of the array.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return { queued, formed };
  }

  /** stopAfterWriteFailure: what waits is refused, and so is every later append. */
  private stop(err: unknown): void {
    this.stoppedBy = new WriteError(
      `not written: an earlier write of this log failed (${toError(err).message}); reopen it to go on`,
      errnoCode(err),
      { cause: err },
    );
    for (let q = this.queue[this.head]; q !== undefined; q = this.queue[++this.head]) {
      q.waiter.failed(q.index, this.stoppedBy);
    }
    this.queue = [];
    this.head = 0;
  }

  private waiting(): number {
    return this.queue.length - this.head;
  }
}
