import { parseMicros } from '../format/clock.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { normalizeMessage } from './normalize.js';

/** Failures that share a cause (the same message once numbers, ids, paths and hashes are masked). */
export interface ErrorGroup {
  message: string;
  count: number;
  eventTypes: string[];
  jobs: string[];
  agents: string[];
  items: string[];
  firstSeen: string;
  lastSeen: string;
  /** Failures of an item that a later attempt completed. */
  recovered: number;
  example: EventRecord;
}

export interface FailureSpike {
  job: string;
  minute: string;
  failures: number;
  /** The job's usual failures per minute (over the minutes from its first to its last failure). */
  usualPerMinute: number;
}

export interface ErrorReport {
  failures: number;
  groups: ErrorGroup[];
  spikes: FailureSpike[];
}

const FAILURE_TYPES = new Set(['agent_failed', 'job_failed', 'checkpoint_failed']);

/** A minute with at least this many failures, and this many times the usual rate, is a spike. */
const SPIKE_MIN = 3;
const SPIKE_FACTOR = 4;

/** Groups the failures of a stream of events (in log order) by cause, and finds the spikes. */
export async function groupErrors(events: AsyncIterable<{ record: EventRecord }>): Promise<ErrorReport> {
  const groups = new Map<string, GroupBuilder>();
  // Per job and item: the groups of its failures not yet followed by a completion.
  const open = new Map<string, ErrorGroup[]>();
  const perMinute = new Map<string, Map<number, number>>();
  let failures = 0;
  for await (const { record } of events) {
    const data = (record.data ?? {}) as Record<string, unknown>;
    const item = typeof data.item_id === 'string' ? `${record.job_id}\u0000${data.item_id}` : undefined;
    if (record.event_type === 'agent_completed' && item !== undefined) {
      for (const group of open.get(item) ?? []) group.recovered++;
      open.delete(item);
      continue;
    }
    if (!FAILURE_TYPES.has(record.event_type)) continue;
    failures++;
    const message = typeof data.error === 'string' ? data.error : JSON.stringify(data);
    const key = normalizeMessage(message);
    const group = groups.get(key) ?? groups.set(key, newGroup(key, record)).get(key);
    if (group === undefined) continue;
    group.count++;
    group.lastSeen = record.ts;
    group.sets.types.add(record.event_type);
    group.sets.jobs.add(record.job_id);
    if (record.agent_id !== undefined) group.sets.agents.add(record.agent_id);
    if (typeof data.item_id === 'string') group.sets.items.add(data.item_id);
    if (item !== undefined) open.set(item, [...(open.get(item) ?? []), group]);
    const minutes =
      perMinute.get(record.job_id) ?? perMinute.set(record.job_id, new Map()).get(record.job_id);
    const minute = Math.floor(parseMicros(record.ts) / 60e6);
    minutes?.set(minute, (minutes.get(minute) ?? 0) + 1);
  }
  return {
    failures,
    groups: [...groups.values()]
      .map(({ sets, ...g }) => ({
        ...g,
        eventTypes: [...sets.types].sort(),
        jobs: [...sets.jobs].sort(),
        agents: [...sets.agents].sort(),
        items: [...sets.items].sort(),
      }))
      .sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1)),
    spikes: findSpikes(perMinute),
  };
}

type GroupBuilder = ErrorGroup & {
  sets: { types: Set<string>; jobs: Set<string>; agents: Set<string>; items: Set<string> };
};

function newGroup(message: string, record: EventRecord): GroupBuilder {
  return {
    message,
    count: 0,
    eventTypes: [],
    jobs: [],
    agents: [],
    items: [],
    firstSeen: record.ts,
    lastSeen: record.ts,
    recovered: 0,
    example: record,
    sets: { types: new Set(), jobs: new Set(), agents: new Set(), items: new Set() },
  };
}

function findSpikes(perMinute: Map<string, Map<number, number>>): FailureSpike[] {
  const spikes: FailureSpike[] = [];
  for (const [job, minutes] of perMinute) {
    const keys = [...minutes.keys()];
    const span = Math.max(...keys) - Math.min(...keys) + 1;
    const total = [...minutes.values()].reduce((a, b) => a + b, 0);
    const usual = total / span;
    for (const [minute, failures] of [...minutes].sort((a, b) => a[0] - b[0])) {
      if (failures >= SPIKE_MIN && failures >= SPIKE_FACTOR * usual) {
        spikes.push({
          job,
          minute: new Date(minute * 60_000).toISOString().slice(0, 16) + 'Z',
          failures,
          usualPerMinute: usual,
        });
      }
    }
  }
  return spikes;
}
