import { z } from 'zod';

/** The `data` schemas of the 18 built-in event types (the spec's MapReduceEvent). */
const count = z.int().nonnegative();
const version = z.int().nonnegative();
const ms = z.number().nonnegative();
/** Agent and worktree events may name the work item they are about; replay uses it. */
const itemRef = { item_id: z.string().min(1).optional() };

export const dataSchemas = {
  job_started: z.strictObject({ config: z.record(z.string(), z.json()), total_items: count }),
  job_completed: z.strictObject({ duration_ms: ms, success_count: count, failure_count: count }),
  job_failed: z.strictObject({ error: z.string(), partial_results: count }),
  job_paused: z.strictObject({ checkpoint_version: version }),
  job_resumed: z.strictObject({ checkpoint_version: version, pending_items: count }),
  agent_started: z.strictObject({
    item_id: z.string().min(1),
    worktree: z.string(),
    attempt: z.int().positive(),
  }),
  agent_progress: z.strictObject({ ...itemRef, step: z.string(), progress_pct: z.number().min(0).max(100) }),
  agent_completed: z.strictObject({ ...itemRef, duration_ms: ms, commits: z.array(z.string()) }),
  agent_failed: z.strictObject({ ...itemRef, error: z.string(), retry_eligible: z.boolean() }),
  agent_retrying: z.strictObject({ ...itemRef, attempt: z.int().positive(), backoff_ms: ms }),
  checkpoint_created: z.strictObject({ version, agents_completed: count }),
  checkpoint_loaded: z.strictObject({ version }),
  checkpoint_failed: z.strictObject({ error: z.string() }),
  worktree_created: z.strictObject({ ...itemRef, worktree_name: z.string(), branch: z.string() }),
  worktree_merged: z.strictObject({ ...itemRef, target_branch: z.string() }),
  worktree_cleaned: z.strictObject({ ...itemRef, worktree_name: z.string() }),
  queue_depth_changed: z.strictObject({ pending: count, active: count, completed: count }),
  memory_pressure: z.strictObject({ used_mb: z.number().nonnegative(), limit_mb: z.number().positive() }),
} as const;

export type BuiltinEventType = keyof typeof dataSchemas;
export type EventData<T extends BuiltinEventType> = z.input<(typeof dataSchemas)[T]>;

export const BUILTIN_EVENT_TYPES = Object.keys(dataSchemas) as BuiltinEventType[];

export function isBuiltinEventType(type: string): type is BuiltinEventType {
  return Object.hasOwn(dataSchemas, type);
}

/** Event types whose envelope must carry the agent they are about. */
export function requiresAgentId(type: string): boolean {
  return type.startsWith('agent_') && isBuiltinEventType(type);
}
