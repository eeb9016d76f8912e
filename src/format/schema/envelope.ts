import { z } from 'zod';
import type { BuiltinEventType } from './data.js';

export const SEVERITIES = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** snake_case, as on disk (DESIGN.md section 2). */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
/** RFC 3339 UTC with exactly 6 fractional digits. */
export const TS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const DEFAULT_SEVERITY: Partial<Record<BuiltinEventType, Severity>> = {
  job_failed: 'error',
  agent_failed: 'error',
  checkpoint_failed: 'error',
  agent_retrying: 'warn',
  memory_pressure: 'warn',
  job_paused: 'warn',
  agent_progress: 'debug',
  queue_depth_changed: 'debug',
};

export function defaultSeverity(type: string): Severity {
  return DEFAULT_SEVERITY[type as BuiltinEventType] ?? 'info';
}

/** One line of the log, as read back: the envelope of format v1. */
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
