import { errnoCode, EventsError, WriteError } from '../format/errors.js';
import type { ValidatedEvent } from '../format/schema/input.js';
import type { SyncFlushable } from './exit-hook.js';
import type { EventFormer } from './former.js';
import type { Receipt, Report, Settings } from './options.js';
import type { ActiveSegment } from './rotation.js';
import type { EventSink } from './sinks.js';

/**
 * How events reach the segment: one implementation per durability mode (format.md section 6), chosen
 * once when the log opens, as sonic-boom chooses its write mode, so that no call branches on the mode.
 * - GroupCommitWriter (`fsync`, `write`): one batch in flight; what arrives meanwhile forms the next.
 * - BufferedWriter (`buffered`): formed at once, written on a timer, at batchBytes, on flush, close
 *   and exit, retried on failure, bounded by maxBufferBytes.
 */
export interface BatchWriter extends SyncFlushable {
  /** Forms and writes one event; resolves to its receipt as the mode promises. */
  append(event: ValidatedEvent, tsUs: number, correlationId: string): Promise<Receipt>;
  /** Resolves when everything appended so far is written and synced to disk. */
  flush(): Promise<void>;
  /**
   * The last flush: afterwards nothing is retried. `failure` is what the flush threw (undefined if
   * nothing), `lost` how many formed events it left unwritten (they are dropped).
   */
  close(): Promise<{ failure: unknown; lost: number }>;
}

/** What a batch writer writes with. */
export interface BatchContext {
  former: EventFormer;
  active: ActiveSegment;
  sinks: readonly EventSink[];
  settings: Settings;
  report: Report;
}

/** A failure at exit, reported as the typed error (nobody awaits it). */
export function exitFailure(err: unknown): EventsError {
  return err instanceof EventsError ? err : new WriteError(String(err), errnoCode(err));
}
