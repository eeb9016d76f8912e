import { parseMicros } from '../format/clock.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { isBuiltinEventType, unhandledType, type BuiltinEventType } from '../format/schema/event-types.js';
import {
  agentOf,
  emptyJobState,
  itemOf,
  lastAttempt,
  openAttempt,
  recount,
  setStatus,
  worktreeOfItem,
  type JobState,
} from './replay-state.js';

export { checkReplay } from './replay-check.js';
export {
  emptyJobState,
  type AgentState,
  type Anomaly,
  type Attempt,
  type AttemptOutcome,
  type ItemState,
  type ItemStatus,
  type JobPhase,
  type JobState,
} from './replay-state.js';

export interface ReplayOptions {
  /** Stop after the event with this seq (in `untilStream`, or in any stream when not given). */
  untilSeq?: number;
  untilStream?: string;
  /** Stop before the first event at or after this time (µs since the epoch). */
  untilUs?: number;
  /** Called after each event is applied (`events replay --step`). */
  onStep?: (record: EventRecord, state: JobState) => void | Promise<void>;
}

/**
 * Folds a job's events (in log order, as readEvents yields them) into its state. Events that
 * contradict the state so far are recorded as anomalies, never thrown; custom event types are skipped.
 */
export async function replayJob(
  events: AsyncIterable<{ record: EventRecord }> | Iterable<{ record: EventRecord }>,
  options: ReplayOptions = {},
): Promise<JobState> {
  const state = emptyJobState();
  for await (const { record } of events) {
    if (options.untilUs !== undefined && parseMicros(record.ts) >= options.untilUs) break;
    applyEvent(state, record);
    await options.onStep?.(record, state);
    const streamMatches = options.untilStream === undefined || options.untilStream === record.stream;
    if (options.untilSeq !== undefined && streamMatches && record.seq >= options.untilSeq) break;
  }
  return state;
}

/** Applies one event to a state (exported for tools that replay step by step). */
export function applyEvent(state: JobState, record: EventRecord): void {
  state.job ??= record.job_id;
  state.eventsApplied++;
  state.lastEvent = { stream: record.stream, seq: record.seq, ts: record.ts, eventType: record.event_type };
  state.startedAt ??= record.ts;
  if (!isBuiltinEventType(record.event_type)) {
    state.unknownEvents++;
    return;
  }
  const data = (record.data ?? {}) as Record<string, unknown>;
  const event: Applied = {
    state,
    record,
    data,
    itemId: typeof data.item_id === 'string' ? data.item_id : undefined,
    anomaly: (problem) =>
      state.anomalies.push({ stream: record.stream, seq: record.seq, eventType: record.event_type, problem }),
  };
  applyBuiltin(record.event_type, event);
  if (record.agent_id !== undefined) {
    const agent = state.agents[record.agent_id];
    if (agent !== undefined) agent.endedAt = record.ts;
  }
  recount(state);
}

/** One built-in event being applied, with what its handlers read. */
interface Applied {
  state: JobState;
  record: EventRecord;
  /** The event's data, as read (not checked against its type's schema). */
  data: Record<string, unknown>;
  itemId: string | undefined;
  anomaly: (problem: string) => void;
}

/** What each built-in type does to the state; a type added to BUILTIN_EVENT_TABLE must be handled here. */
function applyBuiltin(type: BuiltinEventType, e: Applied): void {
  const { state, record, data } = e;
  switch (type) {
    case 'job_started':
    case 'job_paused':
    case 'job_resumed':
    case 'job_completed':
    case 'job_failed':
      applyLifecycle(type, e);
      break;
    case 'agent_started':
      startAttempt(e);
      break;
    case 'agent_completed':
    case 'agent_failed':
      endAttempt(type === 'agent_completed', e);
      break;
    case 'agent_retrying':
      retry(e);
      break;
    case 'agent_progress':
      agentOf(state, record.agent_id, record.ts);
      break;
    case 'checkpoint_created':
      state.checkpoints.push({
        version: data.version as number,
        at: record.ts,
        agentsCompleted: data.agents_completed as number,
      });
      break;
    case 'checkpoint_loaded':
      state.checkpointLoaded = data.version as number;
      break;
    case 'checkpoint_failed':
      break;
    case 'worktree_created':
    case 'worktree_merged':
    case 'worktree_cleaned':
      applyWorktree(type, e);
      break;
    case 'queue_depth_changed':
      state.maxQueue.pending = Math.max(state.maxQueue.pending, data.pending as number);
      state.maxQueue.active = Math.max(state.maxQueue.active, data.active as number);
      break;
    case 'memory_pressure': {
      const used = data.used_mb as number;
      if (state.maxMemory === undefined || used > state.maxMemory.usedMb) {
        state.maxMemory = { usedMb: used, limitMb: data.limit_mb as number };
      }
      break;
    }
    default:
      unhandledType(type);
  }
}

function applyLifecycle(
  type: BuiltinEventType & `job_${string}`,
  { state, record, data, anomaly }: Applied,
): void {
  switch (type) {
    case 'job_started':
      if (state.phase !== 'not_started') anomaly(`the job started again while ${state.phase}`);
      state.phase = 'running';
      state.config = data.config as Record<string, unknown>;
      state.totalItems = data.total_items as number;
      break;
    case 'job_paused':
      state.phase = 'paused';
      state.pauses.push({ at: record.ts, resumedAt: undefined });
      break;
    case 'job_resumed': {
      if (state.phase !== 'paused') anomaly(`resumed while ${state.phase}`);
      state.phase = 'running';
      const pause = state.pauses.at(-1);
      if (pause !== undefined && pause.resumedAt === undefined) pause.resumedAt = record.ts;
      break;
    }
    case 'job_completed':
      state.phase = 'completed';
      state.endedAt = record.ts;
      state.reported = {
        successCount: data.success_count as number,
        failureCount: data.failure_count as number,
        durationMs: data.duration_ms as number,
      };
      break;
    case 'job_failed':
      state.phase = 'failed';
      state.endedAt = record.ts;
      state.failure = {
        at: record.ts,
        error: data.error as string,
        partialResults: data.partial_results as number,
      };
      break;
    default:
      unhandledType(type);
  }
}

function startAttempt({ state, record, data, itemId, anomaly }: Applied): void {
  const agent = agentOf(state, record.agent_id, record.ts);
  const item = itemOf(state, itemId);
  if (agent === undefined || item === undefined) return;
  if (agent.status === 'working')
    anomaly(`${agent.agent} started ${item.item} while still on ${agent.currentItem ?? '?'}`);
  if (item.status === 'completed') anomaly(`${item.item} started again after it completed`);
  if (item.status === 'active') anomaly(`${item.item} started while already active`);
  agent.status = 'working';
  agent.currentItem = item.item;
  agent.attempts++;
  setStatus(state, item, 'active');
  item.agent = agent.agent;
  item.attempts++;
  state.attempts.push({
    agent: agent.agent,
    item: item.item,
    attempt: typeof data.attempt === 'number' ? data.attempt : item.attempts,
    start: record.ts,
    end: undefined,
    outcome: 'running',
  });
}

function endAttempt(completed: boolean, { state, record, data, itemId, anomaly }: Applied): void {
  const agent = agentOf(state, record.agent_id, record.ts);
  const item = itemOf(state, itemId ?? agent?.currentItem);
  if (agent === undefined || item === undefined) return;
  if (item.status === 'completed')
    anomaly(`${item.item} ${completed ? 'completed' : 'failed'} after it had completed`);
  else if (item.status !== 'active')
    anomaly(`${item.item} ${completed ? 'completed' : 'failed'} without being started`);
  const attempt = openAttempt(state, agent.agent, item.item);
  if (attempt !== undefined) {
    attempt.end = record.ts;
    attempt.outcome = completed ? 'completed' : 'failed';
    agent.busyMs += (parseMicros(record.ts) - parseMicros(attempt.start)) / 1000;
  }
  agent.status = 'idle';
  agent.currentItem = undefined;
  if (completed) {
    agent.completed++;
    agent.commits.push(...((data.commits as string[] | undefined) ?? []));
    setStatus(state, item, 'completed');
  } else {
    agent.failed++;
    agent.lastError = data.error as string;
    item.lastError = data.error as string;
    if (attempt !== undefined) attempt.error = data.error as string;
    setStatus(state, item, 'failed');
  }
}

function retry({ state, itemId, anomaly }: Applied): void {
  const item = itemOf(state, itemId);
  if (item === undefined) return;
  if (item.status !== 'failed') anomaly(`${item.item} retried without a failure`);
  setStatus(state, item, 'retrying');
  const last = lastAttempt(state, (a) => a.item === item.item);
  if (last !== undefined && last.outcome === 'failed') last.outcome = 'retried';
}

function applyWorktree(
  type: BuiltinEventType & `worktree_${string}`,
  { state, data, itemId, anomaly }: Applied,
): void {
  switch (type) {
    case 'worktree_created':
      state.worktrees[data.worktree_name as string] = {
        item: itemId,
        branch: data.branch as string,
        status: 'created',
      };
      if (itemId !== undefined) worktreeOfItem(state).set(itemId, data.worktree_name as string);
      break;
    case 'worktree_merged': {
      const name = itemId === undefined ? undefined : worktreeOfItem(state).get(itemId);
      const tree = name === undefined ? undefined : state.worktrees[name];
      if (tree === undefined || tree.status !== 'created')
        anomaly(`no open worktree of ${itemId ?? '?'} to merge`);
      else tree.status = 'merged';
      break;
    }
    case 'worktree_cleaned': {
      const tree = state.worktrees[data.worktree_name as string];
      if (tree === undefined) anomaly(`worktree ${String(data.worktree_name)} cleaned but never created`);
      else tree.status = 'cleaned';
      break;
    }
    default:
      unhandledType(type);
  }
}
