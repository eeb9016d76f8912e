import { parseMicros } from '../format/clock.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { isBuiltinEventType, unhandledType, type BuiltinEventType } from '../format/schema/event-types.js';
import { normalizeMessage } from './normalize.js';
import { LogHistogram } from './sketch.js';

/** How many distinct error groups a stats run keeps (the rest are counted as `other`). */
const MAX_ERROR_GROUPS = 1000;

/** The figures of `events stats` for a set of events (one job, or all in a window). */
export interface Stats {
  events: number;
  firstTs: string | undefined;
  lastTs: string | undefined;
  byType: Record<string, number>;
  bySeverity: Record<string, number>;
  /** Attempts that completed, attempts that failed, and failures that were retried. */
  attempts: { completed: number; failed: number; retried: number };
  /** Items that ended completed or failed (a failure not followed by a retry is final). */
  items: { succeeded: number; failed: number; successRate: number | undefined };
  /** agent_completed durations, from a 1%-bucket histogram (fixed memory). */
  durationsMs: {
    count: number;
    p50?: number;
    p90?: number;
    p99?: number;
    max?: number;
    mean?: number;
  };
  backoff: { retries: number; totalMs: number };
  /**
   * Events per minute, oldest first, one entry per minute from the first event to the last; a span of
   * more than a day is bucketed more coarsely (`bucketMinutes`) to stay at most 1440 entries.
   */
  throughput: { bucketMinutes: number; buckets: { start: string; events: number }[] };
  agents: { agent: string; events: number; completed: number; failed: number; meanMs: number | undefined }[];
  maxQueue: { pending: number; active: number } | undefined;
  maxMemoryMb: { used: number; limit: number } | undefined;
  topErrors: { message: string; count: number; example: string }[];
}

interface AgentFigures {
  events: number;
  completed: number;
  failed: number;
  histogram: LogHistogram;
}

/** Accumulates stats one event at a time: memory grows with agents, minutes and error kinds, not events. */
export class StatsBuilder {
  private events = 0;
  private firstTs: string | undefined;
  private lastTs: string | undefined;
  private readonly byType: Record<string, number> = {};
  private readonly bySeverity: Record<string, number> = {};
  private completed = 0;
  private failed = 0;
  private retried = 0;
  private backoffMs = 0;
  private readonly durations = new LogHistogram();
  private readonly minutes = new Map<number, number>();
  private readonly agents = new Map<string, AgentFigures>();
  private maxQueue: Stats['maxQueue'];
  private maxMemory: Stats['maxMemoryMb'];
  private readonly errors = new Map<string, { count: number; example: string }>();

  add(record: EventRecord): void {
    this.events++;
    this.firstTs ??= record.ts;
    this.lastTs = record.ts;
    this.byType[record.event_type] = (this.byType[record.event_type] ?? 0) + 1;
    this.bySeverity[record.severity] = (this.bySeverity[record.severity] ?? 0) + 1;
    const minute = Math.floor(parseMicros(record.ts) / 60e6);
    this.minutes.set(minute, (this.minutes.get(minute) ?? 0) + 1);
    const agent =
      record.agent_id === undefined
        ? undefined
        : (this.agents.get(record.agent_id) ??
          this.agents
            .set(record.agent_id, { events: 0, completed: 0, failed: 0, histogram: new LogHistogram() })
            .get(record.agent_id));
    if (agent !== undefined) agent.events++;
    if (isBuiltinEventType(record.event_type))
      this.addBuiltin(record.event_type, (record.data ?? {}) as Record<string, unknown>, agent);
  }

  /** The figures each built-in type adds to; a type added to BUILTIN_EVENT_TABLE must be named here. */
  private addBuiltin(
    type: BuiltinEventType,
    data: Record<string, unknown>,
    agent: AgentFigures | undefined,
  ): void {
    switch (type) {
      case 'agent_completed':
        this.completed++;
        if (agent !== undefined) agent.completed++;
        if (typeof data.duration_ms === 'number') {
          this.durations.add(data.duration_ms);
          agent?.histogram.add(data.duration_ms);
        }
        break;
      case 'agent_failed':
        this.failed++;
        if (agent !== undefined) agent.failed++;
        this.error(String(data.error));
        break;
      case 'job_failed':
      case 'checkpoint_failed':
        this.error(String(data.error));
        break;
      case 'agent_retrying':
        this.retried++;
        if (typeof data.backoff_ms === 'number') this.backoffMs += data.backoff_ms;
        break;
      case 'queue_depth_changed': {
        const pending = Number(data.pending);
        const active = Number(data.active);
        this.maxQueue = {
          pending: Math.max(this.maxQueue?.pending ?? 0, pending),
          active: Math.max(this.maxQueue?.active ?? 0, active),
        };
        break;
      }
      case 'memory_pressure':
        if (this.maxMemory === undefined || Number(data.used_mb) > this.maxMemory.used) {
          this.maxMemory = { used: Number(data.used_mb), limit: Number(data.limit_mb) };
        }
        break;
      case 'job_started':
      case 'job_completed':
      case 'job_paused':
      case 'job_resumed':
      case 'agent_started':
      case 'agent_progress':
      case 'checkpoint_created':
      case 'checkpoint_loaded':
      case 'worktree_created':
      case 'worktree_merged':
      case 'worktree_cleaned':
        // Counted by type, severity, minute and agent only.
        break;
      default:
        unhandledType(type);
    }
  }

  /** Adds the figures of another builder (of events not given to this one). */
  merge(other: StatsBuilder): void {
    const o = other;
    this.events += o.events;
    if (o.firstTs !== undefined && (this.firstTs === undefined || o.firstTs < this.firstTs))
      this.firstTs = o.firstTs;
    if (o.lastTs !== undefined && (this.lastTs === undefined || o.lastTs > this.lastTs))
      this.lastTs = o.lastTs;
    for (const [k, n] of Object.entries(o.byType)) this.byType[k] = (this.byType[k] ?? 0) + n;
    for (const [k, n] of Object.entries(o.bySeverity)) this.bySeverity[k] = (this.bySeverity[k] ?? 0) + n;
    this.completed += o.completed;
    this.failed += o.failed;
    this.retried += o.retried;
    this.backoffMs += o.backoffMs;
    this.durations.merge(o.durations);
    for (const [m, n] of o.minutes) this.minutes.set(m, (this.minutes.get(m) ?? 0) + n);
    for (const [id, a] of o.agents) {
      const mine = this.agents.get(id);
      if (mine === undefined) {
        const histogram = new LogHistogram();
        histogram.merge(a.histogram);
        this.agents.set(id, { ...a, histogram });
      } else {
        mine.events += a.events;
        mine.completed += a.completed;
        mine.failed += a.failed;
        mine.histogram.merge(a.histogram);
      }
    }
    if (o.maxQueue !== undefined) {
      this.maxQueue = {
        pending: Math.max(this.maxQueue?.pending ?? 0, o.maxQueue.pending),
        active: Math.max(this.maxQueue?.active ?? 0, o.maxQueue.active),
      };
    }
    if (
      o.maxMemory !== undefined &&
      (this.maxMemory === undefined || o.maxMemory.used > this.maxMemory.used)
    ) {
      this.maxMemory = o.maxMemory;
    }
    for (const [key, e] of o.errors) {
      const mine = this.errors.get(key);
      if (mine !== undefined) mine.count += e.count;
      else this.errors.set(key, { ...e });
    }
  }

  private error(message: string): void {
    const key = normalizeMessage(message);
    const group =
      this.errors.get(key) ?? (this.errors.size < MAX_ERROR_GROUPS ? undefined : this.errors.get('other'));
    if (group !== undefined) group.count++;
    else this.errors.set(this.errors.size < MAX_ERROR_GROUPS ? key : 'other', { count: 1, example: message });
  }

  result(): Stats {
    const finalFailures = Math.max(0, this.failed - this.retried);
    const ended = this.completed + finalFailures;
    const d = this.durations;
    let first = Infinity;
    let last = -Infinity;
    for (const m of this.minutes.keys()) {
      first = Math.min(first, m);
      last = Math.max(last, m);
    }
    const bucketMinutes = Math.max(1, Math.ceil((last - first + 1) / 1440));
    const buckets: Stats['throughput']['buckets'] = [];
    for (let m = first; m <= last; m += bucketMinutes) {
      let events = 0;
      for (let k = m; k < m + bucketMinutes; k++) events += this.minutes.get(k) ?? 0;
      buckets.push({ start: new Date(m * 60_000).toISOString().slice(0, 16) + 'Z', events });
    }
    return {
      events: this.events,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      byType: this.byType,
      bySeverity: this.bySeverity,
      attempts: { completed: this.completed, failed: this.failed, retried: this.retried },
      items: {
        succeeded: this.completed,
        failed: finalFailures,
        successRate: ended === 0 ? undefined : this.completed / ended,
      },
      durationsMs: {
        count: d.count,
        p50: d.percentile(50),
        p90: d.percentile(90),
        p99: d.percentile(99),
        max: d.count === 0 ? undefined : d.max,
        mean: d.mean,
      },
      backoff: { retries: this.retried, totalMs: this.backoffMs },
      throughput: { bucketMinutes, buckets },
      agents: [...this.agents]
        .map(([agent, a]) => ({
          agent,
          events: a.events,
          completed: a.completed,
          failed: a.failed,
          meanMs: a.histogram.mean,
        }))
        .sort((a, b) => b.events - a.events || (a.agent < b.agent ? -1 : 1)),
      maxQueue: this.maxQueue,
      maxMemoryMb: this.maxMemory,
      topErrors: [...this.errors]
        .map(([message, e]) => ({ message, count: e.count, example: e.example }))
        .sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1))
        .slice(0, 10),
    };
  }
}

/** Stats of a stream of events, overall and per job. */
export async function computeStats(
  events: AsyncIterable<{ record: EventRecord }>,
): Promise<{ total: Stats; jobs: Record<string, Stats> }> {
  const jobs = new Map<string, StatsBuilder>();
  let last: { job: string; builder: StatsBuilder } | undefined;
  for await (const { record } of events) {
    // Each event is added once, to its job's figures; the total is their sum.
    if (last?.job !== record.job_id) {
      let builder = jobs.get(record.job_id);
      if (builder === undefined) jobs.set(record.job_id, (builder = new StatsBuilder()));
      last = { job: record.job_id, builder };
    }
    last.builder.add(record);
  }
  const total = new StatsBuilder();
  for (const builder of jobs.values()) total.merge(builder);
  return { total: total.result(), jobs: Object.fromEntries([...jobs].map(([id, b]) => [id, b.result()])) };
}
