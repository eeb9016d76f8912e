import { builtinSpec } from './event-types.js';
import type { EventRecord } from './record-schema.js';
import type { Severity } from './severity.js';

export { SEVERITIES, isSeverity, severityRank, type Severity } from './severity.js';
export type { EventRecord } from './record-schema.js';

// No zod here: this module is on every command's path, and zod is only loaded by the commands that
// validate input (docs/benchmarks.md, start-up).

/** snake_case, as on disk (docs/format.md section 2). */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
/** RFC 3339 UTC with exactly 6 fractional digits. */
export const TS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The severity of an event that gives none: its type's (BUILTIN_EVENT_TABLE), `info` for a custom type. */
export function defaultSeverity(type: string): Severity {
  return builtinSpec(type)?.severity ?? 'info';
}

export type EnvelopeField = keyof EventRecord;

/**
 * The envelope fields in their order on disk (format.md section 2): recordSchema, the serializer and
 * the export's columns follow it (each checks itself against it).
 */
export const ENVELOPE_FIELDS = [
  'seq',
  'ts',
  'id',
  'job_id',
  'stream',
  'event_type',
  'severity',
  'agent_id',
  'correlation_id',
  'data',
  'meta',
  'prev',
] as const satisfies readonly EnvelopeField[];
