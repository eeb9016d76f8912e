import { z } from 'zod';
import { builtinSpec } from './event-types.js';
import { severitySchema, type Severity } from './severity.js';

export { SEVERITIES, severitySchema, severityRank, type Severity } from './severity.js';

/** snake_case, as on disk (docs/format.md section 2). */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
/** RFC 3339 UTC with exactly 6 fractional digits. */
export const TS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The severity of an event that gives none: its type's (BUILTIN_EVENT_TABLE), `info` for a custom type. */
export function defaultSeverity(type: string): Severity {
  return builtinSpec(type)?.severity ?? 'info';
}

/**
 * One line of the log, as read back: the envelope of format v1. Its fields are in their order on disk
 * (format.md section 2): ENVELOPE_FIELDS, the serializer and the export's columns follow it.
 */
export const recordSchema = z.object({
  seq: z.int().positive(),
  ts: z.string().regex(TS_PATTERN),
  id: z.string().min(1),
  job_id: z.string().min(1),
  stream: z.string().min(1),
  event_type: z.string().regex(EVENT_TYPE_PATTERN),
  severity: severitySchema,
  agent_id: z.string().optional(),
  correlation_id: z.string(),
  data: z.json(),
  meta: z.record(z.string(), z.json()).optional(),
  prev: z.string().regex(/^[0-9a-f]{32}$/),
});

export type EventRecord = z.infer<typeof recordSchema>;

export type EnvelopeField = keyof typeof recordSchema.shape;

/** The envelope fields in their order on disk: that of recordSchema. */
export const ENVELOPE_FIELDS = Object.keys(recordSchema.shape) as readonly EnvelopeField[];
