import { errnoCode, EventsError, toError, WriteError } from '../format/errors.js';
import type { ValidatedEvent } from '../format/schema/input.js';
import type { SyncFlushable } from './exit-hook.js';
import type { EventFormer } from './former.js';
import type { Receipt, Report, Settings } from './options.js';
import type { ActiveSegment } from './rotation.js';
import type { Sinks } from './sinks.js';

/**
 * How events reach the segment: one implementation per durability mode (format.md section 6), chosen
 * once when the log opens, as sonic-boom chooses its write mode, so that no call branches on the mode.
 * - GroupCommitWriter (`fsync`, `write`): one batch in flight; what arrives meanwhile forms the next.
 * - BufferedWriter (`buffered`): formed at once, written on a timer, at batchBytes, on flush, close
 *   and exit, retried on failure, bounded by maxBufferBytes.
 */
export interface BatchWriter extends SyncFlushable {
  /**
   * Forms and writes one event; tells `waiter` (as entry `index`) its receipt once it is as durable as
   * the mode promises, or why it was not written.
   */
  append(event: ValidatedEvent, tsUs: number, correlationId: string, waiter: Waiter, index: number): void;
  /** Resolves when everything appended so far is written and synced to disk. */
  flush(): Promise<void>;
  /**
   * The last flush: afterwards nothing is retried. `failure` is what the flush threw (undefined if
   * nothing), `lost` how many formed events it left unwritten (they are dropped).
   */
  close(): Promise<{ failure: unknown; lost: number }>;
}

/**
 * Who is told how an append ended: a promise per append (`append()`), or one promise for a whole group
 * (`appendMany()`, which spares a busy pipe a promise and a closure per event).
 */
export interface Waiter {
  written(index: number, receipt: Receipt): void;
  failed(index: number, error: unknown): void;
}

/** The waiter of one append(): its promise. */
export class OneWaiter implements Waiter {
  readonly promise: Promise<Receipt>;
  written!: (index: number, receipt: Receipt) => void;
  failed!: (index: number, error: unknown) => void;
  constructor() {
    this.promise = new Promise<Receipt>((resolve, reject) => {
      this.written = (_, receipt) => resolve(receipt);
      this.failed = (_, error) => reject(error);
    });
  }
}

/** How one event of appendMany() ended: its receipt, or why it was not written. */
export type AppendOutcome = Receipt | Error;

/** The waiter of appendMany(): one promise, resolved once every event of the group has ended. */
export class GroupWaiter implements Waiter {
  readonly promise: Promise<AppendOutcome[]>;
  private readonly outcomes: AppendOutcome[];
  private left: number;
  private resolve!: (outcomes: AppendOutcome[]) => void;
  /** Events that someone also awaits alone (a remembered id): their own promise. */
  private single: Map<number, OneWaiter> | undefined;

  constructor(size: number) {
    this.outcomes = new Array<AppendOutcome>(size);
    this.left = size;
    this.promise = new Promise((resolve) => (this.resolve = resolve));
    if (size === 0) this.resolve([]);
  }

  written(index: number, receipt: Receipt): void {
    this.single?.get(index)?.written(index, receipt);
    this.settle(index, receipt);
  }

  failed(index: number, error: unknown): void {
    this.single?.get(index)?.failed(index, error);
    this.settle(index, toError(error));
  }

  /** A promise of entry `index` alone, for the ids a retry may repeat. */
  track(index: number): Promise<Receipt> {
    const one = new OneWaiter();
    (this.single ??= new Map()).set(index, one);
    return one.promise;
  }

  private settle(index: number, outcome: AppendOutcome): void {
    this.outcomes[index] = outcome;
    if (--this.left === 0) this.resolve(this.outcomes);
  }
}

/** What a batch writer writes with. */
export interface BatchContext {
  former: EventFormer;
  active: ActiveSegment;
  sinks: Sinks;
  settings: Settings;
  report: Report;
}

/** A failure at exit, reported as the typed error (nobody awaits it). */
export function exitFailure(err: unknown): EventsError {
  return err instanceof EventsError ? err : new WriteError(String(err), errnoCode(err));
}
