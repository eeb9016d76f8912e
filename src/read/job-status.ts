import fs from 'node:fs/promises';
import path from 'node:path';
import { parseMicros } from '../format/clock.js';
import { listSegments } from '../storage/segments.js';
import { readRegularFile, writeFileAtomic } from '../storage/fsutil.js';
import { readEvents } from './reader.js';
import { JOB_SUMMARY_FILE } from '../format/paths.js';
import { isStrings, matchesShape, type Checks } from '../format/shape.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { isBuiltinEventType, unhandledType, type BuiltinEventType } from '../format/schema/event-types.js';
import { hasLiveWriter } from '../storage/job-gate.js';

export type JobRunState = 'running' | 'completed' | 'failed' | 'paused' | 'stopped';

/** One row of `events jobs`. */
export interface JobStatus {
  job: string;
  /** From its lifecycle events; `running` when a live writer holds a stream; `stopped` otherwise. */
  status: JobRunState;
  itemsDone: number;
  itemsFailed: number;
  itemsTotal: number | undefined;
  agents: number;
  firstTs: string | undefined;
  lastTs: string | undefined;
  durationMs: number | undefined;
  events: number;
  bytes: number;
  /** Corrupt lines the read skipped. These three are kept in the summary: a cached row still says them. */
  corrupt: number;
  /** Compressed segments that could not be read to their end, each with why. */
  damaged: string[];
  /** Segment indexes that disagreed with their segment (which was read instead). */
  indexProblems: string[];
}

/** What `index.json` keeps of a job (JOB_SUMMARY_FILE), computed from its segments. */
interface Summary {
  lifecycle: 'completed' | 'failed' | 'paused' | null;
  itemsDone: number;
  itemsFailed: number;
  itemsTotal: number | null;
  agents: number;
  firstTs: string | null;
  lastTs: string | null;
  events: number;
  bytes: number;
  corrupt: number;
  damaged: string[];
  indexProblems: string[];
}

const SUMMARY_CHECKS: Checks<Summary> = {
  lifecycle: (v) => v === null || v === 'completed' || v === 'failed' || v === 'paused',
  itemsDone: Number.isSafeInteger,
  itemsFailed: Number.isSafeInteger,
  itemsTotal: (v) => v === null || Number.isSafeInteger(v),
  agents: Number.isSafeInteger,
  firstTs: (v) => v === null || typeof v === 'string',
  lastTs: (v) => v === null || typeof v === 'string',
  events: Number.isSafeInteger,
  bytes: Number.isSafeInteger,
  corrupt: Number.isSafeInteger,
  damaged: isStrings,
  indexProblems: isStrings,
};

/**
 * The summary of an `index.json` written for `fingerprint` (the segments, names and sizes, it was
 * computed from). A file that does not match exactly (another fingerprint, or one written before
 * `damaged` and `indexProblems` were kept) is stale like a changed log: the summary is computed again.
 */
function summaryOf(value: unknown, fingerprint: string): Summary | undefined {
  const file: Checks<{ version: 1; fingerprint: string; summary: Summary }> = {
    version: (v) => v === 1,
    fingerprint: (v) => v === fingerprint,
    summary: (v) => matchesShape(v, SUMMARY_CHECKS),
  };
  return matchesShape(value, file) ? value.summary : undefined;
}

/**
 * One row of `events jobs`. A job's log is read once and summarised in its `index.json`; later calls
 * use that while the job's segments are unchanged (a finished job is never read again), and read the
 * log again when they have changed. Whether a writer is alive is always checked now.
 */
export async function jobStatus(dir: string, job: string): Promise<JobStatus> {
  const jobDir = path.join(dir, job);
  const fingerprint = await fingerprintOf(jobDir);
  let summary = await readSummary(jobDir, fingerprint);
  if (summary === undefined) {
    summary = await summarize(dir, job);
    // A cache: a directory it cannot be written to (a read-only archive) only costs a re-read.
    await writeFileAtomic(
      path.join(jobDir, JOB_SUMMARY_FILE),
      JSON.stringify({ version: 1, fingerprint, summary }) + '\n',
    ).catch(() => undefined);
  }
  const live = summary.lifecycle === null && (await hasLiveWriter(jobDir));
  const { lifecycle, firstTs, lastTs, itemsTotal, ...counts } = summary;
  return {
    job,
    status: lifecycle ?? (live ? 'running' : 'stopped'),
    ...counts,
    itemsTotal: itemsTotal ?? undefined,
    firstTs: firstTs ?? undefined,
    lastTs: lastTs ?? undefined,
    durationMs: firstTs && lastTs ? (parseMicros(lastTs) - parseMicros(firstTs)) / 1000 : undefined,
  };
}

async function fingerprintOf(jobDir: string): Promise<string> {
  const parts: string[] = [];
  for (const segment of await listSegments(jobDir)) {
    parts.push(`${segment.file}:${(await fs.stat(path.join(jobDir, segment.file))).size}`);
  }
  return parts.join(',');
}

async function readSummary(jobDir: string, fingerprint: string): Promise<Summary | undefined> {
  try {
    return summaryOf(JSON.parse(await readRegularFile(path.join(jobDir, JOB_SUMMARY_FILE))), fingerprint);
  } catch {
    return undefined;
  }
}

/** Reads one job's log once and derives its summary. */
async function summarize(dir: string, job: string): Promise<Summary> {
  const reader = readEvents({ dir, jobs: [job] });
  const fold = new JobFold();
  for await (const { record } of reader) fold.add(record);
  const outcomes = [...fold.items.values()];
  const skipped = reader.stats.get(job);
  return {
    lifecycle: fold.lifecycle ?? null,
    itemsDone: outcomes.filter((o) => o === 'completed').length,
    itemsFailed: outcomes.filter((o) => o === 'failed').length,
    itemsTotal: fold.itemsTotal ?? null,
    agents: fold.agents.size,
    firstTs: fold.firstTs ?? null,
    lastTs: fold.lastTs ?? null,
    events: fold.events,
    bytes: await jobBytes(path.join(dir, job)),
    corrupt: skipped?.corrupt ?? 0,
    damaged: skipped?.damaged ?? [],
    indexProblems: skipped?.indexProblems ?? [],
  };
}

/** What a job's row needs from its events, one event at a time. */
class JobFold {
  readonly items = new Map<string, 'active' | 'completed' | 'failed' | 'retrying'>();
  readonly agents = new Set<string>();
  /** From the lifecycle events; undefined while the job runs (or has not started). */
  lifecycle: 'completed' | 'failed' | 'paused' | undefined;
  itemsTotal: number | undefined;
  events = 0;
  firstTs: string | undefined;
  lastTs: string | undefined;

  add(record: EventRecord): void {
    this.events++;
    this.firstTs ??= record.ts;
    this.lastTs = record.ts;
    if (record.agent_id !== undefined) this.agents.add(record.agent_id);
    if (isBuiltinEventType(record.event_type))
      this.addBuiltin(record.event_type, (record.data ?? {}) as Record<string, unknown>);
  }

  /** A type added to BUILTIN_EVENT_TABLE must be named here. */
  private addBuiltin(type: BuiltinEventType, data: Record<string, unknown>): void {
    const item = typeof data.item_id === 'string' ? data.item_id : undefined;
    switch (type) {
      case 'job_started':
        this.itemsTotal = typeof data.total_items === 'number' ? data.total_items : undefined;
        this.lifecycle = undefined;
        break;
      case 'job_completed':
        this.lifecycle = 'completed';
        break;
      case 'job_failed':
        this.lifecycle = 'failed';
        break;
      case 'job_paused':
        this.lifecycle = 'paused';
        break;
      case 'job_resumed':
        this.lifecycle = undefined;
        break;
      case 'agent_started':
      case 'agent_completed':
      case 'agent_failed':
      case 'agent_retrying':
        if (item !== undefined) this.items.set(item, ITEM_OUTCOME[type]);
        break;
      case 'agent_progress':
      case 'checkpoint_created':
      case 'checkpoint_loaded':
      case 'checkpoint_failed':
      case 'worktree_created':
      case 'worktree_merged':
      case 'worktree_cleaned':
      case 'queue_depth_changed':
      case 'memory_pressure':
        break;
      default:
        unhandledType(type);
    }
  }
}

/** What an agent event says of its item. */
const ITEM_OUTCOME = {
  agent_started: 'active',
  agent_completed: 'completed',
  agent_failed: 'failed',
  agent_retrying: 'retrying',
} as const;

async function jobBytes(jobDir: string): Promise<number> {
  let total = 0;
  for (const segment of await listSegments(jobDir))
    total += (await fs.stat(path.join(jobDir, segment.file))).size;
  return total;
}
