import { parseMicros } from '../format/clock.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { BUILTIN_EVENT_TYPES } from '../format/schema/data.js';

export type JobPhase = 'not_started' | 'running' | 'paused' | 'completed' | 'failed';
export type ItemStatus = 'pending' | 'active' | 'completed' | 'failed' | 'retrying';
export type AttemptOutcome = 'running' | 'completed' | 'failed' | 'retried';

export interface ItemState {
  item: string;
  status: ItemStatus;
  /** The agent of its latest attempt. */
  agent: string | undefined;
  attempts: number;
  lastError: string | undefined;
}

export interface AgentState {
  agent: string;
  status: 'idle' | 'working';
  currentItem: string | undefined;
  attempts: number;
  completed: number;
  failed: number;
  startedAt: string | undefined;
  endedAt: string | undefined;
  /** Time spent on attempts that ended, in ms (from agent_started to its outcome). */
  busyMs: number;
  lastError: string | undefined;
  commits: string[];
}

/** One attempt of an item by an agent: the bars of `events timeline`. */
export interface Attempt {
  agent: string;
  item: string;
  attempt: number;
  start: string;
  end: string | undefined;
  outcome: AttemptOutcome;
  error?: string;
}

export interface Anomaly {
  stream: string;
  seq: number;
  eventType: string;
  problem: string;
}

/** A job as its events so far describe it (issue 5). */
export interface JobState {
  job: string | undefined;
  phase: JobPhase;
  config: Record<string, unknown> | undefined;
  totalItems: number | undefined;
  startedAt: string | undefined;
  endedAt: string | undefined;
  /** Items by status, including announced items no event has named yet (pending). */
  counts: Record<ItemStatus, number>;
  /** Items by status, of those events have named. */
  named: Record<ItemStatus, number>;
  items: Record<string, ItemState>;
  agents: Record<string, AgentState>;
  attempts: Attempt[];
  checkpoints: { version: number; at: string; agentsCompleted: number }[];
  checkpointLoaded: number | undefined;
  pauses: { at: string; resumedAt: string | undefined }[];
  worktrees: Record<
    string,
    { item: string | undefined; branch: string | undefined; status: 'created' | 'merged' | 'cleaned' }
  >;
  maxQueue: { pending: number; active: number };
  maxMemory: { usedMb: number; limitMb: number } | undefined;
  /** What job_completed said, to compare with the replay (`events replay --check`). */
  reported: { successCount: number; failureCount: number; durationMs: number } | undefined;
  /** What job_failed said: when, why, and how many items had results (`events replay --check`). */
  failure: { at: string; error: string; partialResults: number } | undefined;
  lastEvent: { stream: string; seq: number; ts: string; eventType: string } | undefined;
  eventsApplied: number;
  /** Events of types this replay does not know (custom ones): skipped and counted. */
  unknownEvents: number;
  anomalies: Anomaly[];
}

export interface ReplayOptions {
  /** Stop after the event with this seq (in `untilStream`, or in any stream when not given). */
  untilSeq?: number;
  untilStream?: string;
  /** Stop before the first event at or after this time (µs since the epoch). */
  untilUs?: number;
  /** Called after each event is applied (`events replay --step`). */
  onStep?: (record: EventRecord, state: JobState) => void | Promise<void>;
}

const BUILTIN = new Set<string>(BUILTIN_EVENT_TYPES);

export function emptyJobState(): JobState {
  return {
    job: undefined,
    phase: 'not_started',
    config: undefined,
    totalItems: undefined,
    startedAt: undefined,
    endedAt: undefined,
    counts: { pending: 0, active: 0, completed: 0, failed: 0, retrying: 0 },
    named: { pending: 0, active: 0, completed: 0, failed: 0, retrying: 0 },
    items: {},
    agents: {},
    attempts: [],
    checkpoints: [],
    checkpointLoaded: undefined,
    pauses: [],
    worktrees: {},
    maxQueue: { pending: 0, active: 0 },
    maxMemory: undefined,
    reported: undefined,
    failure: undefined,
    lastEvent: undefined,
    eventsApplied: 0,
    unknownEvents: 0,
    anomalies: [],
  };
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
  if (!BUILTIN.has(record.event_type)) {
    state.unknownEvents++;
    return;
  }
  const data = (record.data ?? {}) as Record<string, unknown>;
  const anomaly = (problem: string) =>
    state.anomalies.push({ stream: record.stream, seq: record.seq, eventType: record.event_type, problem });
  const itemId = typeof data.item_id === 'string' ? data.item_id : undefined;
  const agentId = record.agent_id;
  switch (record.event_type) {
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
    case 'agent_started': {
      const agent = agentOf(state, agentId, record.ts);
      const item = itemOf(state, itemId);
      if (agent === undefined || item === undefined) break;
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
      break;
    }
    case 'agent_completed':
    case 'agent_failed': {
      const agent = agentOf(state, agentId, record.ts);
      const item = itemOf(state, itemId ?? agent?.currentItem);
      if (agent === undefined || item === undefined) break;
      const completed = record.event_type === 'agent_completed';
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
      break;
    }
    case 'agent_retrying': {
      const item = itemOf(state, itemId);
      if (item === undefined) break;
      if (item.status !== 'failed') anomaly(`${item.item} retried without a failure`);
      setStatus(state, item, 'retrying');
      const last = lastAttempt(state, (a) => a.item === item.item);
      if (last !== undefined && last.outcome === 'failed') last.outcome = 'retried';
      break;
    }
    case 'agent_progress':
      agentOf(state, agentId, record.ts);
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
  }
  if (agentId !== undefined) {
    const agent = state.agents[agentId];
    if (agent !== undefined) agent.endedAt = record.ts;
  }
  recount(state);
}

function agentOf(state: JobState, agentId: string | undefined, ts: string): AgentState | undefined {
  if (agentId === undefined) return undefined;
  return (state.agents[agentId] ??= {
    agent: agentId,
    status: 'idle',
    currentItem: undefined,
    attempts: 0,
    completed: 0,
    failed: 0,
    startedAt: ts,
    endedAt: ts,
    busyMs: 0,
    lastError: undefined,
    commits: [],
  });
}

function itemOf(state: JobState, itemId: string | undefined): ItemState | undefined {
  if (itemId === undefined) return undefined;
  let item = state.items[itemId];
  if (item === undefined) {
    item = { item: itemId, status: 'pending', agent: undefined, attempts: 0, lastError: undefined };
    state.items[itemId] = item;
    state.named.pending++;
  }
  return item;
}

function openAttempt(state: JobState, agent: string, item: string): Attempt | undefined {
  const attempt = lastAttempt(state, (a) => a.agent === agent && a.item === item);
  return attempt?.outcome === 'running' ? attempt : undefined;
}

/** The newest attempt that matches; attempts of one item are near the end, so this stays short. */
function lastAttempt(state: JobState, test: (a: Attempt) => boolean): Attempt | undefined {
  for (let i = state.attempts.length - 1; i >= 0; i--) {
    const a = state.attempts[i] as Attempt;
    if (test(a)) return a;
  }
  return undefined;
}

const worktrees = new WeakMap<JobState, Map<string, string>>();

/** The newest worktree of each item, without searching them all. */
function worktreeOfItem(state: JobState): Map<string, string> {
  let map = worktrees.get(state);
  if (map === undefined) worktrees.set(state, (map = new Map()));
  return map;
}

/** Moves an item to a status, keeping the counts (O(1) per event, whatever the number of items). */
function setStatus(state: JobState, item: ItemState, status: ItemStatus): void {
  state.named[item.status]--;
  state.named[status]++;
  item.status = status;
}

/** The counts: items events have named, plus those job_started announced that none has yet (pending). */
function recount(state: JobState): void {
  const named = state.named;
  const namedTotal = named.pending + named.active + named.completed + named.failed + named.retrying;
  state.counts = { ...named, pending: named.pending + Math.max(0, (state.totalItems ?? 0) - namedTotal) };
}

/**
 * Whether the log of a job that ended is consistent: the replay agrees with what its job_completed
 * event reported (items succeeded and failed) or, for a job that failed, with its job_failed event
 * (`partial_results`, the items that completed), and no event contradicted the state before it. A job
 * that failed is not a problem; a job that has not ended is (there is nothing to check yet).
 */
export function checkReplay(state: JobState): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  if (state.phase === 'failed' && state.failure !== undefined) {
    const { partialResults } = state.failure;
    if (partialResults !== state.counts.completed) {
      problems.push(
        `job_failed says ${partialResults} items had results; the events show ${state.counts.completed} completed`,
      );
    }
  } else if (state.phase !== 'completed' || state.reported === undefined) {
    problems.push(`the job has not ended (it is ${state.phase.replace('_', ' ')})`);
  } else {
    const { successCount, failureCount } = state.reported;
    if (successCount !== state.counts.completed) {
      problems.push(
        `job_completed says ${successCount} items succeeded; the events show ${state.counts.completed}`,
      );
    }
    if (failureCount !== state.counts.failed) {
      problems.push(
        `job_completed says ${failureCount} items failed; the events show ${state.counts.failed}`,
      );
    }
  }
  for (const a of state.anomalies)
    problems.push(`anomaly at ${a.stream}:${a.seq} (${a.eventType}): ${a.problem}`);
  return { ok: problems.length === 0, problems };
}
