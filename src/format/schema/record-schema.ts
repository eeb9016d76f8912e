import { z } from 'zod';
import { ENVELOPE_FIELDS, EVENT_TYPE_PATTERN, TS_PATTERN } from './envelope.js';
import { SEVERITIES } from './severity.js';

/**
 * One line of the log, as read back: the envelope of format v1, as a zod schema (for library users;
 * the reader checks lines with parseRecord, written out). Its fields are in their order on disk
 * (format.md section 2), ENVELOPE_FIELDS' (checked below when this module loads).
 */
export const recordSchema = z.object({
  seq: z.int().positive(),
  ts: z.string().regex(TS_PATTERN),
  id: z.string().min(1),
  job_id: z.string().min(1),
  stream: z.string().min(1),
  event_type: z.string().regex(EVENT_TYPE_PATTERN),
  severity: z.enum(SEVERITIES),
  agent_id: z.string().optional(),
  correlation_id: z.string(),
  data: z.json(),
  meta: z.record(z.string(), z.json()).optional(),
  prev: z.string().regex(/^[0-9a-f]{32}$/),
});

export type EventRecord = z.infer<typeof recordSchema>;

if (Object.keys(recordSchema.shape).join() !== ENVELOPE_FIELDS.join()) {
  throw new Error(`recordSchema's fields are not the envelope's, ${ENVELOPE_FIELDS.join()}`);
}
