import { recordSchema, type EventRecord } from './schema/envelope.js';

/**
 * Serialises a record with the envelope fields in their documented order (DESIGN.md section 2).
 * job_id, stream, ts, event_type and severity are validated to need no JSON escaping, so they are
 * concatenated as they are: this is the hot path of every append.
 */
export function serializeRecord(record: EventRecord): string {
  let line = `{"seq":${record.seq},"ts":"${record.ts}","id":${JSON.stringify(record.id)},"job_id":"${record.job_id}","stream":"${record.stream}","event_type":"${record.event_type}","severity":"${record.severity}"`;
  if (record.agent_id !== undefined) line += `,"agent_id":${JSON.stringify(record.agent_id)}`;
  line += `,"correlation_id":${JSON.stringify(record.correlation_id)},"data":${JSON.stringify(record.data)}`;
  if (record.meta !== undefined) line += `,"meta":${JSON.stringify(record.meta)}`;
  return `${line},"prev":"${record.prev}"}`;
}

/** Parses one line (without its `\n`); undefined when it is not a valid format v1 record. */
export function parseRecord(line: string): EventRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const result = recordSchema.safeParse(value);
  return result.success ? result.data : undefined;
}
