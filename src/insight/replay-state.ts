/** The state a replay folds a job's events into, and the moves it makes on it. */

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

export function agentOf(state: JobState, agentId: string | undefined, ts: string): AgentState | undefined {
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

export function itemOf(state: JobState, itemId: string | undefined): ItemState | undefined {
  if (itemId === undefined) return undefined;
  let item = state.items[itemId];
  if (item === undefined) {
    item = { item: itemId, status: 'pending', agent: undefined, attempts: 0, lastError: undefined };
    state.items[itemId] = item;
    state.named.pending++;
  }
  return item;
}

export function openAttempt(state: JobState, agent: string, item: string): Attempt | undefined {
  const attempt = lastAttempt(state, (a) => a.agent === agent && a.item === item);
  return attempt?.outcome === 'running' ? attempt : undefined;
}

/** The newest attempt that matches; attempts of one item are near the end, so this stays short. */
export function lastAttempt(state: JobState, test: (a: Attempt) => boolean): Attempt | undefined {
  for (let i = state.attempts.length - 1; i >= 0; i--) {
    const a = state.attempts[i] as Attempt;
    if (test(a)) return a;
  }
  return undefined;
}

const worktrees = new WeakMap<JobState, Map<string, string>>();

/** The newest worktree of each item, without searching them all. */
export function worktreeOfItem(state: JobState): Map<string, string> {
  let map = worktrees.get(state);
  if (map === undefined) worktrees.set(state, (map = new Map()));
  return map;
}

/** Moves an item to a status, keeping the counts (O(1) per event, whatever the number of items). */
export function setStatus(state: JobState, item: ItemState, status: ItemStatus): void {
  state.named[item.status]--;
  state.named[status]++;
  item.status = status;
}

/** The counts: items events have named, plus those job_started announced that none has yet (pending). */
export function recount(state: JobState): void {
  const named = state.named;
  const namedTotal = named.pending + named.active + named.completed + named.failed + named.retrying;
  state.counts = { ...named, pending: named.pending + Math.max(0, (state.totalItems ?? 0) - namedTotal) };
}
