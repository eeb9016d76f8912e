import fs from 'node:fs/promises';
import path from 'node:path';
import { isOwnerAlive, readLockOwner } from '../lock.js';
import { parseMicros } from '../clock.js';
import { listSegments } from '../recover.js';
import { readEvents } from './reader.js';

export type JobState = 'running' | 'completed' | 'failed' | 'paused' | 'stopped';

/** One row of `events jobs`. */
export interface JobStatus {
  job: string;
  /** From its lifecycle events; `running` when a live writer holds a stream; `stopped` otherwise. */
  status: JobState;
  itemsDone: number;
  itemsFailed: number;
  itemsTotal: number | undefined;
  agents: number;
  firstTs: string | undefined;
  lastTs: string | undefined;
  durationMs: number | undefined;
  events: number;
  bytes: number;
  corrupt: number;
}

/** Reads one job's log once and derives its row. */
export async function jobStatus(dir: string, job: string): Promise<JobStatus> {
  const reader = readEvents({ dir, jobs: [job] });
  const items = new Map<string, 'active' | 'completed' | 'failed' | 'retrying'>();
  const agents = new Set<string>();
  let lifecycle: JobState | undefined;
  let itemsTotal: number | undefined;
  let events = 0;
  let firstTs: string | undefined;
  let lastTs: string | undefined;
  for await (const { record } of reader) {
    events++;
    firstTs ??= record.ts;
    lastTs = record.ts;
    if (record.agent_id !== undefined) agents.add(record.agent_id);
    const data = (record.data ?? {}) as Record<string, unknown>;
    const item = typeof data.item_id === 'string' ? data.item_id : undefined;
    switch (record.event_type) {
      case 'job_started':
        itemsTotal = typeof data.total_items === 'number' ? data.total_items : undefined;
        lifecycle = undefined;
        break;
      case 'job_completed':
        lifecycle = 'completed';
        break;
      case 'job_failed':
        lifecycle = 'failed';
        break;
      case 'job_paused':
        lifecycle = 'paused';
        break;
      case 'job_resumed':
        lifecycle = undefined;
        break;
      case 'agent_started':
        if (item !== undefined) items.set(item, 'active');
        break;
      case 'agent_completed':
        if (item !== undefined) items.set(item, 'completed');
        break;
      case 'agent_failed':
        if (item !== undefined) items.set(item, 'failed');
        break;
      case 'agent_retrying':
        if (item !== undefined) items.set(item, 'retrying');
        break;
    }
  }
  const jobDir = path.join(dir, job);
  const live = lifecycle === undefined && (await hasLiveWriter(jobDir));
  const outcomes = [...items.values()];
  return {
    job,
    status: lifecycle ?? (live ? 'running' : 'stopped'),
    itemsDone: outcomes.filter((o) => o === 'completed').length,
    itemsFailed: outcomes.filter((o) => o === 'failed').length,
    itemsTotal,
    agents: agents.size,
    firstTs,
    lastTs,
    durationMs: firstTs && lastTs ? (parseMicros(lastTs) - parseMicros(firstTs)) / 1000 : undefined,
    events,
    bytes: await jobBytes(jobDir),
    corrupt: reader.stats.get(job)?.corrupt ?? 0,
  };
}

async function hasLiveWriter(jobDir: string): Promise<boolean> {
  for (const name of await fs.readdir(jobDir)) {
    if (!name.endsWith('.lock')) continue;
    const owner = await readLockOwner(path.join(jobDir, name));
    if (owner !== undefined && isOwnerAlive(owner)) return true;
  }
  return false;
}

async function jobBytes(jobDir: string): Promise<number> {
  let total = 0;
  for (const segment of await listSegments(jobDir))
    total += (await fs.stat(path.join(jobDir, segment.file))).size;
  return total;
}
