import { LockedError } from '../format/errors.js';
import { validateEvent, type EventInput } from '../format/schema/input.js';
import { EventLog, type EventLogOptions, type Receipt } from '../write/writer.js';

/** The stream `emit` falls back to when a live writer holds `main` (emits take turns on it). */
export const EMIT_STREAM = 'emit';

export interface EmitOptions extends EventLogOptions {
  /** How long to wait for the stream when another writer holds it. Default 10,000 ms. */
  waitMs?: number;
}

/**
 * Writes one event and closes the log: resolves once it is as durable as `durability` says (fsync by
 * default). The event is checked before anything is touched on disk. Without `stream`: `main`, or, when
 * a live writer (a runner, an ingest) holds `main`, the stream `emit`, waited for while another emit
 * has it; so a script's emits never scatter over one stream per process.
 */
export async function emitEvent(options: EmitOptions, event: EventInput): Promise<Receipt> {
  validateEvent(event);
  const waitMs = options.waitMs ?? 10_000;
  const log = await openForEmit(options, waitMs);
  try {
    return await log.append(event);
  } finally {
    await log.close();
  }
}

async function openForEmit(options: EmitOptions, waitMs: number): Promise<EventLog> {
  if (options.stream !== undefined) return EventLog.open({ ...options, streamWaitMs: waitMs });
  try {
    return await EventLog.open({ ...options, stream: 'main' });
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    return EventLog.open({ ...options, stream: EMIT_STREAM, streamWaitMs: waitMs });
  }
}
