import { z } from 'zod';
import { EventValidationError } from '../errors.js';
import {
  dataSchemas,
  isBuiltinEventType,
  requiresAgentId,
  type BuiltinEventType,
  type EventData,
} from './data.js';
import { EVENT_TYPE_PATTERN, SEVERITIES, defaultSeverity, isSeverity, type Severity } from './envelope.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

interface EnvelopeInput {
  /** Defaults to the correlation id of the enclosing `withCorrelation`, else the job id. */
  correlation_id?: string;
  /** Defaults per event type (agent_failed is `error`, agent_progress is `debug`, ...). */
  severity?: Severity;
  /** A producer-supplied id makes retries idempotent: an id already written is not written again. */
  id?: string;
  meta?: { [key: string]: JsonValue };
}

type AgentField<K extends string> = K extends `agent_${string}`
  ? { agent_id: string }
  : { agent_id?: string };

/** A built-in event: `data` is checked against the type's schema, at compile time and at run time. */
export type BuiltinEventInput = {
  [K in BuiltinEventType]: EnvelopeInput & AgentField<K> & { event_type: K; data: EventData<K> };
}[BuiltinEventType];

/** A custom event type (snake_case, not a built-in name) with any JSON `data`. */
export type CustomEventInput<T extends string> = EnvelopeInput & {
  event_type: T extends BuiltinEventType ? never : T;
  agent_id?: string;
  data?: JsonValue;
};

export type EventInput<T extends string = string> = BuiltinEventInput | CustomEventInput<T>;

/** What the writer needs from an input after validation. */
export interface ValidatedEvent {
  event_type: string;
  severity: Severity;
  agent_id: string | undefined;
  correlation_id: string | undefined;
  id: string | undefined;
  data: unknown;
  meta: Record<string, unknown> | undefined;
}

/** The fields an input may have; the writer sets the rest of the envelope (format.md section 2). */
const INPUT_FIELDS = new Set<string>([
  'event_type',
  'data',
  'agent_id',
  'correlation_id',
  'severity',
  'id',
  'meta',
] satisfies (keyof BuiltinEventInput)[]);

/** Checks an input against the envelope rules and its type's schema; throws EventValidationError. */
export function validateEvent(input: unknown): ValidatedEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const what = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input;
    throw new EventValidationError('unknown', '', `must be a JSON object, not ${what}`);
  }
  const event = input as Record<string, unknown>;
  const type = event.event_type;
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) {
    // The message names the type as given, if it is a string ("invalid Agent-Failed event"), else none.
    throw new EventValidationError(
      typeof type === 'string' ? type : 'unknown',
      'event_type',
      type === undefined
        ? 'required: a snake_case name such as agent_failed'
        : 'must be a snake_case name such as agent_failed',
    );
  }
  // A misspelt or writer-owned field (agentId, job_id, seq) is refused, not dropped without a word.
  for (const key in event) {
    if (!INPUT_FIELDS.has(key)) {
      throw new EventValidationError(
        type,
        key,
        'not a field of an event input (the writer sets seq, ts, job_id, stream and prev; your own fields go in data)',
      );
    }
  }
  const agentId = optionalString(type, event, 'agent_id');
  if (agentId === undefined && requiresAgentId(type)) {
    throw new EventValidationError(type, 'agent_id', 'required for agent events');
  }
  const severity = event.severity === undefined ? defaultSeverity(type) : event.severity;
  if (!isSeverity(severity)) {
    throw new EventValidationError(type, 'severity', `must be one of ${SEVERITIES.join(', ')}`);
  }
  const id = optionalString(type, event, 'id');
  if (id !== undefined && id.length > 128)
    throw new EventValidationError(type, 'id', 'at most 128 characters');
  return {
    event_type: type,
    severity: severity as Severity,
    agent_id: agentId,
    correlation_id: optionalString(type, event, 'correlation_id'),
    id,
    data: parseData(type, event.data),
    meta: event.meta === undefined ? undefined : parseMeta(type, event.meta),
  };
}

function parseData(type: string, data: unknown): unknown {
  if (isBuiltinEventType(type)) return parseWith<unknown>(type, 'data', dataSchemas[type], data);
  if (data === undefined) return {};
  return copyJson(type, 'data', data);
}

function parseMeta(type: string, meta: unknown): Record<string, unknown> {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new EventValidationError(type, 'meta', 'must be an object');
  }
  return copyJson(type, 'meta', meta) as Record<string, unknown>;
}

/**
 * A copy of `value` once checked to be JSON: what is written is the event as it was when append() was
 * called, whatever the caller does with its objects before the batch is formed (built-in types are
 * copied by their schema). A `__proto__` key stays a key. Plain JSON only (what survives a round trip
 * through the log), naming the path of the first offender.
 */
function copyJson(type: string, path: string, value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new EventValidationError(type, path, `${value} is not a JSON number`);
  }
  if (depth > 100) throw new EventValidationError(type, path, 'nested more than 100 levels deep');
  if (Array.isArray(value)) return value.map((item, i) => copyJson(type, `${path}.${i}`, item, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new EventValidationError(
        type,
        path,
        `a ${value.constructor?.name ?? 'non-plain'} object is not JSON`,
      );
    }
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      // An undefined property is simply left out, as JSON.stringify does.
      if (child === undefined) continue;
      const checked = copyJson(type, `${path}.${key}`, child, depth + 1);
      if (key === '__proto__')
        Object.defineProperty(copy, key, {
          value: checked,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else copy[key] = checked;
    }
    return copy;
  }
  throw new EventValidationError(type, path, `a ${typeof value} is not JSON`);
}

function parseWith<T>(type: string, field: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [field, ...(issue?.path ?? []).map(String)].join('.');
  throw new EventValidationError(type, path, issue?.message ?? 'invalid');
}

function optionalString(type: string, event: Record<string, unknown>, field: string): string | undefined {
  const value = event[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new EventValidationError(type, field, 'must be a non-empty string');
  }
  return value;
}

export type { EventData };
