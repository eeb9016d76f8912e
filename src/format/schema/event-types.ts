import type * as z from 'zod';
import type { Severity } from './severity.js';
import { count as length, duration, item, quote, str, type Data } from './summary-text.js';

/**
 * Everything the format says about a built-in event type (format.md section 4), in one place. Adding
 * a type to BUILTIN_EVENT_TABLE makes the compiler ask for each of these, and for its handling in
 * replay, stats and job status (their switches end in an exhaustive `never` check).
 */
export interface EventTypeSpec {
  /**
   * The type's `data` schema (strict: unknown fields are rejected), built from zod when first used
   * (data.ts): the commands that only read never load zod.
   */
  data: (zod: Zod) => z.ZodType;
  /** The severity of an event that does not give one. */
  severity: Severity;
  /** Whether the envelope must carry `agent_id` (the event is about an agent). */
  agent: 'required' | 'optional';
  /** The few fields that matter, as `key=value` text for one-line output (data as read: unchecked). */
  summary: (d: Data) => string;
}

type Zod = typeof z;
const count = (zod: Zod) => zod.int().nonnegative();
const version = (zod: Zod) => zod.int().nonnegative();
const ms = (zod: Zod) => zod.number().nonnegative();
/** Agent and worktree events may name the work item they are about; replay uses it. */
const itemRef = (zod: Zod) => ({ item_id: zod.string().min(1).optional() });

/** The 18 built-in event types (the spec's MapReduceEvent), keyed by type name. */
export const BUILTIN_EVENT_TABLE = {
  job_started: {
    data: (z) => z.strictObject({ config: z.record(z.string(), z.json()), total_items: count(z) }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `total_items=${str(d.total_items)}`,
  },
  job_completed: {
    data: (z) => z.strictObject({ duration_ms: ms(z), success_count: count(z), failure_count: count(z) }),
    severity: 'info',
    agent: 'optional',
    summary: (d) =>
      `succeeded=${str(d.success_count)} failed=${str(d.failure_count)} duration=${duration(d.duration_ms)}`,
  },
  job_failed: {
    data: (z) => z.strictObject({ error: z.string(), partial_results: count(z) }),
    severity: 'error',
    agent: 'optional',
    summary: (d) => `error=${quote(d.error)} partial_results=${str(d.partial_results)}`,
  },
  job_paused: {
    data: (z) => z.strictObject({ checkpoint_version: version(z) }),
    severity: 'warn',
    agent: 'optional',
    summary: (d) => `checkpoint=${str(d.checkpoint_version)}`,
  },
  job_resumed: {
    data: (z) => z.strictObject({ checkpoint_version: version(z), pending_items: count(z) }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `checkpoint=${str(d.checkpoint_version)} pending=${str(d.pending_items)}`,
  },
  agent_started: {
    data: (z) =>
      z.strictObject({
        item_id: z.string().min(1),
        worktree: z.string(),
        attempt: z.int().positive(),
      }),
    severity: 'info',
    agent: 'required',
    summary: (d) => `item=${str(d.item_id)} attempt=${str(d.attempt)}`,
  },
  agent_progress: {
    data: (z) =>
      z.strictObject({ ...itemRef(z), step: z.string(), progress_pct: z.number().min(0).max(100) }),
    severity: 'debug',
    agent: 'required',
    summary: (d) => `${item(d)}step=${str(d.step)} ${str(d.progress_pct)}%`,
  },
  agent_completed: {
    data: (z) => z.strictObject({ ...itemRef(z), duration_ms: ms(z), commits: z.array(z.string()) }),
    severity: 'info',
    agent: 'required',
    summary: (d) => `${item(d)}duration=${duration(d.duration_ms)} commits=${length(d.commits)}`,
  },
  agent_failed: {
    data: (z) => z.strictObject({ ...itemRef(z), error: z.string(), retry_eligible: z.boolean() }),
    severity: 'error',
    agent: 'required',
    summary: (d) => `${item(d)}error=${quote(d.error)}${d.retry_eligible === true ? ' (retryable)' : ''}`,
  },
  agent_retrying: {
    data: (z) => z.strictObject({ ...itemRef(z), attempt: z.int().positive(), backoff_ms: ms(z) }),
    severity: 'warn',
    agent: 'required',
    summary: (d) => `${item(d)}attempt=${str(d.attempt)} backoff=${duration(d.backoff_ms)}`,
  },
  checkpoint_created: {
    data: (z) => z.strictObject({ version: version(z), agents_completed: count(z) }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `version=${str(d.version)} agents_completed=${str(d.agents_completed)}`,
  },
  checkpoint_loaded: {
    data: (z) => z.strictObject({ version: version(z) }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `version=${str(d.version)}`,
  },
  checkpoint_failed: {
    data: (z) => z.strictObject({ error: z.string() }),
    severity: 'error',
    agent: 'optional',
    summary: (d) => `error=${quote(d.error)}`,
  },
  worktree_created: {
    data: (z) => z.strictObject({ ...itemRef(z), worktree_name: z.string(), branch: z.string() }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `${item(d)}worktree=${str(d.worktree_name)} branch=${str(d.branch)}`,
  },
  worktree_merged: {
    data: (z) => z.strictObject({ ...itemRef(z), target_branch: z.string() }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `${item(d)}into=${str(d.target_branch)}`,
  },
  worktree_cleaned: {
    data: (z) => z.strictObject({ ...itemRef(z), worktree_name: z.string() }),
    severity: 'info',
    agent: 'optional',
    summary: (d) => `${item(d)}worktree=${str(d.worktree_name)}`,
  },
  queue_depth_changed: {
    data: (z) => z.strictObject({ pending: count(z), active: count(z), completed: count(z) }),
    severity: 'debug',
    agent: 'optional',
    summary: (d) => `pending=${str(d.pending)} active=${str(d.active)} completed=${str(d.completed)}`,
  },
  memory_pressure: {
    data: (z) => z.strictObject({ used_mb: z.number().nonnegative(), limit_mb: z.number().positive() }),
    severity: 'warn',
    agent: 'optional',
    summary: (d) => `used=${str(d.used_mb)}MB limit=${str(d.limit_mb)}MB`,
  },
} as const satisfies Record<string, EventTypeSpec>;

export type BuiltinEventType = keyof typeof BUILTIN_EVENT_TABLE;

export const BUILTIN_EVENT_TYPES = Object.keys(BUILTIN_EVENT_TABLE) as BuiltinEventType[];

export function isBuiltinEventType(type: string): type is BuiltinEventType {
  return Object.hasOwn(BUILTIN_EVENT_TABLE, type);
}

/** The spec of a built-in type, or undefined for a custom one. */
export function builtinSpec(type: string): EventTypeSpec | undefined {
  return isBuiltinEventType(type) ? BUILTIN_EVENT_TABLE[type] : undefined;
}

/** For the end of a switch over the built-in types: a type left out does not compile. */
export function unhandledType(type: never): never {
  throw new Error(`unhandled built-in event type ${String(type)}`);
}
