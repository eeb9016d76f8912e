import { TS_PATTERN, type EventRecord } from '../format/schema/envelope.js';

/**
 * What a remote writer publishes (docs/deployment.md): the record as it will be in the log, without
 * `seq` and `prev`, which the collector's writer gives it; `ts`, `id` and `correlation_id` were given
 * by the remote writer, as a local append gives them.
 */
export type RemoteEvent = Omit<EventRecord, 'seq' | 'prev'>;

/** The message body: JSON in envelope order, as a line of the log would be. */
export function encodeRemoteEvent(event: RemoteEvent): string {
  return JSON.stringify({
    ts: event.ts,
    id: event.id,
    job_id: event.job_id,
    stream: event.stream,
    event_type: event.event_type,
    severity: event.severity,
    agent_id: event.agent_id,
    correlation_id: event.correlation_id,
    data: event.data,
    meta: event.meta,
  });
}

/**
 * The envelope of a message, checked as far as the collector needs it before the event goes through
 * append()'s own validation (which checks the rest); a string says what is wrong.
 */
export function decodeRemoteEvent(body: string): RemoteEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e.ts !== 'string' || !TS_PATTERN.test(e.ts)) return 'ts is not a format v1 timestamp';
  for (const field of ['id', 'job_id', 'stream', 'event_type', 'correlation_id'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') return `${field} is not a string`;
  }
  return value as RemoteEvent;
}
