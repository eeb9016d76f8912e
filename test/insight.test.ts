import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { groupErrors, readEvents, replayJob } from '../src/index.js';
import { rawLines, ROOT, runCli, segmentFiles, tempDir } from './helpers.js';

const INSIGHT = path.join(ROOT, 'fixtures', 'insight');
const BASIC = path.join(ROOT, 'fixtures', 'basic');
const replay = (job: string, options = {}) => replayJob(readEvents({ dir: INSIGHT, jobs: [job] }), options);

type Rec = {
  seq: number;
  ts: string;
  event_type: string;
  severity: string;
  agent_id?: string;
  correlation_id: string;
  data: Record<string, unknown>;
};
const basicRecords = (): Rec[] =>
  rawLines(segmentFiles(path.join(BASIC, 'job-basic'))[0] as string).map((l) => JSON.parse(l) as Rec);

describe('replayJob', () => {
  it('a failure retried and then completed', async () => {
    const s = await replay('job-retry-ok');
    assert.equal(s.phase, 'completed');
    assert.deepEqual(s.counts, { pending: 0, active: 0, completed: 2, failed: 0, retrying: 0 });
    assert.deepEqual(
      s.attempts.map((a) => [a.agent, a.item, a.attempt, a.outcome]),
      [
        ['agent-1', 'item-1', 1, 'retried'],
        ['agent-2', 'item-2', 1, 'completed'],
        ['agent-1', 'item-1', 2, 'completed'],
      ],
    );
    const agent = s.agents['agent-1'];
    assert.deepEqual([agent?.attempts, agent?.completed, agent?.failed, agent?.status], [2, 1, 1, 'idle']);
    assert.equal(agent?.lastError, 'timeout after 30s waiting for build 4411');
    assert.deepEqual(agent?.commits, ['c-item-1']);
    assert.equal(s.items['item-1']?.attempts, 2);
    assert.deepEqual(s.reported, { successCount: 2, failureCount: 0, durationMs: 1000 });
    assert.deepEqual(s.anomalies, []);
    assert.equal(s.checkpoints.length, 1);
  });

  it('a job that failed', async () => {
    const s = await replay('job-failed');
    assert.equal(s.phase, 'failed');
    assert.deepEqual(s.counts, { pending: 0, active: 0, completed: 0, failed: 3, retrying: 0 });
    assert.deepEqual(
      Object.values(s.items).map((i) => [i.item, i.status, i.agent]),
      [
        ['item-1', 'failed', 'agent-1'],
        ['item-2', 'failed', 'agent-2'],
        ['item-3', 'failed', 'agent-1'],
      ],
    );
  });

  it('a paused and resumed job', async () => {
    const s = await replay('job-paused');
    assert.equal(s.phase, 'completed');
    assert.equal(s.pauses.length, 1);
    assert.ok(s.pauses[0]?.resumedAt !== undefined && s.pauses[0].resumedAt >= s.pauses[0].at);
    assert.equal(s.checkpointLoaded, 1);
    const paused = await replay('job-paused', { untilSeq: 5 });
    assert.equal(paused.phase, 'paused');
    assert.deepEqual(paused.counts, { pending: 1, active: 0, completed: 1, failed: 0, retrying: 0 });
  });

  it('two streams interleaved in time, and a custom event type skipped and counted', async () => {
    const s = await replay('job-two-streams');
    assert.equal(s.phase, 'completed');
    assert.equal(s.unknownEvents, 1);
    assert.deepEqual(s.anomalies, []);
    assert.deepEqual(s.counts.completed, 2);
    // Part way: item-2 started on worker-2 before item-1 on main, in time order across the streams.
    const early = await replay('job-two-streams', { untilSeq: 1, untilStream: 'worker-2' });
    assert.deepEqual(Object.keys(early.items), ['item-2']);
    assert.equal(early.agents['agent-w']?.status, 'working');
  });

  it('records what contradicts the state as anomalies instead of failing', async () => {
    const s = await replay('job-anomaly');
    assert.deepEqual(
      s.anomalies.map((a) => a.problem),
      ['item-9 completed without being started'],
    );
  });
});

describe('events replay', () => {
  it('--check agrees on jobs that ended (completed or failed), and exits 4 naming the disagreement otherwise', async () => {
    for (const job of ['job-retry-ok', 'job-paused', 'job-two-streams']) {
      const run = await runCli(['replay', '--dir', INSIGHT, '--job', job, '--check']);
      assert.equal(run.code, 0, `${job}: ${run.stderr}`);
    }
    const anomaly = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-anomaly', '--check']);
    assert.equal(anomaly.code, 4);
    assert.match(anomaly.stderr, /job_completed says 0 items succeeded; the events show 1/);
    assert.match(
      anomaly.stderr,
      /anomaly at main:2 \(agent_completed\): item-9 completed without being started/,
    );
    const failed = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-failed', '--check']);
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(failed.stdout, /^Job job-failed: failed;/);
  });

  it('--check holds for demo jobs of several seeds', async () => {
    const dir = tempDir();
    for (const seed of ['1', '2', '3', '11']) {
      const demo = await runCli([
        'demo',
        '--dir',
        dir,
        '--job',
        `d${seed}`,
        '--seed',
        seed,
        '--speed',
        '0',
        '--items',
        '20',
        '--fail-rate',
        '0.35',
      ]);
      assert.equal(demo.code, 0, demo.stderr);
      const check = await runCli(['replay', '--dir', dir, '--job', `d${seed}`, '--check', '--json']);
      assert.equal(check.code, 0, check.stderr);
      const state = JSON.parse(check.stdout) as { counts: { completed: number; failed: number } };
      assert.equal(state.counts.completed + state.counts.failed, 20);
    }
  });

  it('--until a seq or a time gives the state at that point; --step prints each change', async () => {
    const run = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-retry-ok', '--until', '4', '--json']);
    const state = JSON.parse(run.stdout) as { counts: Record<string, number>; lastEvent: { seq: number } };
    assert.equal(state.lastEvent.seq, 4);
    assert.deepEqual(state.counts, { pending: 0, active: 1, completed: 0, failed: 1, retrying: 0 });
    const ts = (
      JSON.parse(rawLines(segmentFiles(path.join(INSIGHT, 'job-retry-ok'))[0] as string)[2] as string) as Rec
    ).ts;
    const byTime = await runCli([
      'replay',
      '--dir',
      INSIGHT,
      '--job',
      'job-retry-ok',
      '--until',
      ts,
      '--utc',
      '--json',
    ]);
    assert.equal((JSON.parse(byTime.stdout) as { lastEvent: { seq: number } }).lastEvent.seq, 2);
    const step = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-paused', '--step']);
    assert.equal(step.stdout.match(/ {4}→ /g)?.length, 10);
    assert.match(step.stdout, /→ paused; completed 1, failed 0, active 0, retrying 0, pending 1/);
    const bad = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-paused', '--until', 'someday']);
    assert.equal(bad.code, 2);
  });
});

describe('events stats', () => {
  it('figures recomputed from the raw lines', async () => {
    const records = basicRecords();
    const run = await runCli(['stats', '--dir', BASIC, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const { total } = JSON.parse(run.stdout) as {
      total: {
        events: number;
        byType: Record<string, number>;
        bySeverity: Record<string, number>;
        attempts: { completed: number; failed: number; retried: number };
        items: { succeeded: number; failed: number };
        durationsMs: { count: number; p50: number; p99: number; max: number; mean: number };
        backoff: { totalMs: number };
      };
    };
    const count = (test: (r: Rec) => boolean) => records.filter(test).length;
    assert.equal(total.events, records.length);
    for (const type of new Set(records.map((r) => r.event_type))) {
      assert.equal(
        total.byType[type],
        count((r) => r.event_type === type),
        type,
      );
    }
    for (const severity of new Set(records.map((r) => r.severity))) {
      assert.equal(
        total.bySeverity[severity],
        count((r) => r.severity === severity),
        severity,
      );
    }
    const retried = count((r) => r.event_type === 'agent_retrying');
    const failed = count((r) => r.event_type === 'agent_failed');
    assert.deepEqual(total.attempts, {
      completed: count((r) => r.event_type === 'agent_completed'),
      failed,
      retried,
    });
    assert.equal(total.items.failed, failed - retried);
    const durations = records
      .filter((r) => r.event_type === 'agent_completed')
      .map((r) => r.data.duration_ms as number)
      .sort((a, b) => a - b);
    const exact = (p: number) =>
      durations[Math.max(0, Math.ceil((p / 100) * durations.length) - 1)] as number;
    assert.equal(total.durationsMs.count, durations.length);
    assert.equal(total.durationsMs.max, durations.at(-1));
    for (const [p, got] of [
      [50, total.durationsMs.p50],
      [99, total.durationsMs.p99],
    ] as const) {
      assert.ok(Math.abs(got - exact(p)) <= exact(p) * 0.01 + 1e-9, `p${p}: ${got} vs ${exact(p)}`);
    }
    assert.equal(total.durationsMs.mean, durations.reduce((a, b) => a + b, 0) / durations.length);
    const backoff = records
      .filter((r) => r.event_type === 'agent_retrying')
      .reduce((n, r) => n + (r.data.backoff_ms as number), 0);
    assert.equal(total.backoff.totalMs, backoff);
  });

  it('--save writes the figures to global/metrics-<date>.json', async () => {
    const dir = tempDir();
    await runCli(['demo', '--dir', dir, '--job', 'd', '--seed', '4', '--speed', '0', '--items', '8']);
    const run = await runCli(['stats', '--dir', dir, '--save']);
    assert.equal(run.code, 0, run.stderr);
    const file = /^saved (\S+)$/m.exec(run.stderr)?.[1] as string;
    assert.match(path.basename(file), /^metrics-\d{4}-\d{2}-\d{2}\.json$/);
    const saved = JSON.parse(rawLines(file).join('\n')) as { schema: string; total: { events: number } };
    assert.equal(saved.schema, 'mmm-events/metrics/1');
    assert.ok(saved.total.events > 0);
  });
});

describe('events trace and events errors', () => {
  it('trace: every event of a correlation id in order, across streams', async () => {
    const records = basicRecords().filter((r) => r.correlation_id === 'job-basic/item-0003');
    const run = await runCli(['trace', '--dir', BASIC, 'job-basic/item-0003', '--json']);
    assert.deepEqual(
      run.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Rec).seq),
      records.map((r) => r.seq),
    );
    const missing = await runCli(['trace', '--dir', BASIC, 'no-such-id']);
    assert.equal(missing.code, 3);
  });

  it('errors: failures grouped by their masked message, with the items retried successfully', async () => {
    const run = await runCli(['errors', '--dir', INSIGHT, '--json']);
    const report = JSON.parse(run.stdout) as {
      failures: number;
      groups: { message: string; count: number; items: string[]; recovered: number }[];
    };
    assert.equal(report.failures, 5);
    const byMessage = Object.fromEntries(report.groups.map((g) => [g.message, g]));
    assert.equal(byMessage['merge conflict in <path>']?.count, 3);
    assert.deepEqual(byMessage['merge conflict in <path>']?.items, ['item-1', 'item-2', 'item-3']);
    assert.equal(byMessage['timeout after <n> waiting for build <n>']?.recovered, 1);
    assert.equal(byMessage['<n> of <n> items failed']?.count, 1);
  });

  it('errors: a minute with far more failures than the job usually has is a spike', async () => {
    const failure = (minute: number, second: number, n: number) => ({
      record: {
        seq: n,
        ts: `2026-11-22T10:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}.000000Z`,
        id: `e${n}`,
        job_id: 'job-s',
        stream: 'main',
        event_type: 'agent_failed',
        severity: 'error' as const,
        agent_id: 'agent-1',
        correlation_id: 'c',
        data: { item_id: `item-${n}`, error: `exit status ${n}`, retry_eligible: false },
        prev: '0'.repeat(32),
      },
    });
    // One failure a minute for 20 minutes, then 9 in minute 20.
    const records = [
      ...Array.from({ length: 20 }, (_, m) => failure(m, 0, m + 1)),
      ...Array.from({ length: 9 }, (_, i) => failure(20, i, 100 + i)),
    ];
    const report = await groupErrors(
      (async function* () {
        yield* records;
      })(),
    );
    assert.equal(report.groups.length, 1, 'exit status <n>: one cause');
    assert.deepEqual(
      report.spikes.map((s) => [s.job, s.minute, s.failures]),
      [['job-s', '2026-11-22T10:20Z', 9]],
    );
  });
});
