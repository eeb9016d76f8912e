import {
  ENVELOPE_FIELDS,
  EVENT_TYPE_PATTERN,
  SEVERITIES,
  TS_PATTERN,
  type EnvelopeField,
  type EventRecord,
} from './schema/envelope.js';

/**
 * Serialises a record with the envelope fields in their documented order (format.md section 2), which
 * is ENVELOPE_FIELDS' (checked below when this module loads). job_id, stream, ts, event_type and
 * severity are validated to need no JSON escaping, so they are concatenated as they are: this is the
 * hot path of every append, written out because a loop over the fields takes twice as long.
 */
export function serializeRecord(record: EventRecord): string {
  let line = `{"seq":${record.seq},"ts":"${record.ts}","id":${JSON.stringify(record.id)},"job_id":"${record.job_id}","stream":"${record.stream}","event_type":"${record.event_type}","severity":"${record.severity}"`;
  if (record.agent_id !== undefined) line += `,"agent_id":${JSON.stringify(record.agent_id)}`;
  line += `,"correlation_id":${JSON.stringify(record.correlation_id)},"data":${JSON.stringify(record.data)}`;
  if (record.meta !== undefined) line += `,"meta":${JSON.stringify(record.meta)}`;
  return `${line},"prev":"${record.prev}"}`;
}

/** A record with every field, for checking the serializer against ENVELOPE_FIELDS. */
const EVERY_FIELD: { [F in EnvelopeField]-?: NonNullable<EventRecord[F]> } = {
  seq: 1,
  ts: '2026-01-01T00:00:00.000000Z',
  id: 'i',
  job_id: 'j',
  stream: 's',
  event_type: 't',
  severity: 'info',
  agent_id: 'a',
  correlation_id: 'c',
  data: {},
  meta: {},
  prev: '0'.repeat(32),
};
const written = Object.keys(JSON.parse(serializeRecord(EVERY_FIELD)) as object).join();
if (written !== ENVELOPE_FIELDS.join()) {
  throw new Error(`serializeRecord writes ${written}, not the envelope order ${ENVELOPE_FIELDS.join()}`);
}

const SEVERITY_SET = new Set<string>(SEVERITIES);
const PREV_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Parses one line (without its `\n`); undefined when it is not a valid format v1 envelope. The checks
 * are those of `recordSchema`, written out because this runs once per line of every query.
 */
export function parseRecord(line: string): EventRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(r.seq) &&
    (r.seq as number) >= 1 &&
    typeof r.ts === 'string' &&
    TS_PATTERN.test(r.ts) &&
    typeof r.id === 'string' &&
    r.id !== '' &&
    typeof r.job_id === 'string' &&
    typeof r.stream === 'string' &&
    typeof r.event_type === 'string' &&
    EVENT_TYPE_PATTERN.test(r.event_type) &&
    typeof r.severity === 'string' &&
    SEVERITY_SET.has(r.severity) &&
    (r.agent_id === undefined || typeof r.agent_id === 'string') &&
    typeof r.correlation_id === 'string' &&
    r.data !== undefined &&
    (r.meta === undefined || (typeof r.meta === 'object' && r.meta !== null && !Array.isArray(r.meta))) &&
    typeof r.prev === 'string' &&
    PREV_PATTERN.test(r.prev);
  return ok ? (value as EventRecord) : undefined;
}
