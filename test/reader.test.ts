import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { encodeCursor, EventLog, readEvents, type EventFilter } from '../src/index.js';
import { rawLines, segmentFiles, tempDir } from './helpers.js';

type Rec = {
  seq: number;
  ts: string;
  job_id: string;
  stream: string;
  event_type: string;
  severity: string;
  agent_id?: string;
  correlation_id: string;
  data: Record<string, unknown>;
  prev: string;
};

const SEVERITY = ['debug', 'info', 'warn', 'error', 'fatal'];
const AGENTS = ['agent-1', 'agent-2', 'agent "quoted"', 'agent\\back'];
const TYPES = ['agent_progress', 'agent_failed', 'agent_completed', 'deploy_step', 'queue_depth_changed'];

/** A log with what could trip a reader that skips lines by their text. */
async function awkwardLog(): Promise<string> {
  const dir = tempDir();
  let n = 0;
  for (const job of ['job-a', 'job-b']) {
    for (const stream of ['main', 'side']) {
      const log = await EventLog.open({ dir, jobId: job, stream, durability: 'write' });
      for (let i = 0; i < 60; i++, n++) {
        const agent = AGENTS[n % AGENTS.length] as string;
        const type = TYPES[(n * 7) % TYPES.length] as string;
        const severity = SEVERITY[(n * 3) % SEVERITY.length] as 'info';
        const item_id = `item-${n % 9}`;
        const note = n % 4 === 0 ? 'mentions agent_failed and "error"' : 'ok';
        const data: Record<string, Record<string, unknown>> = {
          agent_progress: { item_id, step: note, progress_pct: 5 },
          agent_failed: { item_id, error: note, retry_eligible: true },
          agent_completed: { item_id, duration_ms: 5, commits: [] },
          deploy_step: { item_id, note },
          queue_depth_changed: { pending: 1, active: 1, completed: n },
        };
        await log.append({
          event_type: type as 'deploy_step',
          severity,
          agent_id: type === 'queue_depth_changed' ? undefined : agent,
          correlation_id: `corr-${n % 5}`,
          data: data[type] as Record<string, string>,
        });
      }
      await log.close();
    }
  }
  // A line another tool wrote: valid JSON, its event type spelled with an escape and spaced out.
  const side = segmentFiles(path.join(dir, 'job-b')).find((f) => f.includes('-side-')) as string;
  const lines = rawLines(side);
  const last = JSON.parse(lines.at(-1) as string) as Rec;
  const escaped = JSON.stringify(
    { ...last, seq: last.seq + 1, event_type: 'agent_failed', severity: 'error' },
    null,
    1,
  )
    .replace(/\n/g, '')
    .replace('"agent_failed"', '"\\u0061gent_failed"');
  fs.appendFileSync(side, escaped + '\n' + '{"seq":999,"broken\n');
  return dir;
}

function naive(dir: string, filter: EventFilter): Rec[] {
  const all: Rec[] = [];
  for (const job of fs.readdirSync(dir)) {
    for (const file of segmentFiles(path.join(dir, job))) {
      for (const line of rawLines(file)) {
        try {
          const r = JSON.parse(line) as Rec;
          if (typeof r.ts === 'string' && typeof r.prev === 'string') all.push(r);
        } catch {
          // corrupt: skipped
        }
      }
    }
  }
  const min = filter.severity === undefined ? 0 : SEVERITY.indexOf(filter.severity);
  return all
    .filter(
      (r) =>
        (!filter.kinds?.length ||
          filter.kinds.some((k) =>
            k.endsWith('*') ? r.event_type.startsWith(k.slice(0, -1)) : r.event_type === k,
          )) &&
        (!filter.agents?.length || filter.agents.includes(r.agent_id ?? '')) &&
        (!filter.items?.length || filter.items.includes(String(r.data.item_id))) &&
        (filter.correlation === undefined || r.correlation_id === filter.correlation) &&
        SEVERITY.indexOf(r.severity) >= min,
    )
    .sort(
      (a, b) =>
        a.ts.localeCompare(b.ts) ||
        a.stream.localeCompare(b.stream) ||
        a.seq - b.seq ||
        a.job_id.localeCompare(b.job_id),
    );
}

function pick<T>(items: readonly T[], random: () => number): T[] {
  return items.filter(() => random() < 0.3);
}

describe('readEvents', () => {
  it('returns exactly what a naive scan of every line returns, for random filters', async () => {
    const dir = await awkwardLog();
    let state = 42;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 150; round++) {
      const filter: EventFilter = {
        kinds: pick([...TYPES, 'agent_*', 'deploy*'], random),
        agents: pick(AGENTS, random),
        items: pick(['item-1', 'item-4', 'item-8'], random),
        correlation: random() < 0.2 ? `corr-${Math.floor(random() * 5)}` : undefined,
        severity: random() < 0.4 ? (SEVERITY[Math.floor(random() * 5)] as 'warn') : undefined,
      };
      const got: Rec[] = [];
      for await (const { record } of readEvents({ dir, ...filter })) got.push(record as unknown as Rec);
      const want = naive(dir, filter);
      assert.deepEqual(
        got.map((r) => `${r.job_id}/${r.stream}:${r.seq}`),
        want.map((r) => `${r.job_id}/${r.stream}:${r.seq}`),
        JSON.stringify(filter),
      );
    }
  });

  it('moves the cursor past the lines a filter skipped without parsing them', async () => {
    const dir = await awkwardLog();
    const reader = readEvents({ dir, jobs: ['job-a'], kinds: ['agent_failed'] });
    for await (const event of reader) void event;
    assert.deepEqual(reader.cursor()['job-a']?.streams, { main: 60, side: 60 });
    const again = readEvents({ dir, jobs: ['job-a'], afterCursor: reader.cursor() });
    const rest: unknown[] = [];
    for await (const event of again) rest.push(event);
    assert.deepEqual(rest, []);
    assert.match(encodeCursor(reader.cursor()), /^c1\./);
  });

  it('counts a corrupt line whether or not a filter would have skipped it', async () => {
    const dir = await awkwardLog();
    for (const filter of [{}, { kinds: ['agent_failed'] }, { agents: ['agent-1'] }]) {
      const reader = readEvents({ dir, jobs: ['job-b'], ...filter });
      for await (const event of reader) void event;
      assert.equal(reader.stats.get('job-b')?.corrupt, 1, JSON.stringify(filter));
    }
  });
});
