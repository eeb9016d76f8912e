import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { LiveCli, progressEvent, ROOT, runCli, segmentFiles, tempDir } from './helpers.js';

const BASIC = path.join(ROOT, 'fixtures', 'basic');
type Rec = { seq: number; stream: string; job_id: string; event_type: string };
const parse = (lines: string[]): Rec[] => lines.filter(Boolean).map((l) => JSON.parse(l) as Rec);

async function jobWith(dir: string, jobId: string, count: number, stream = 'main'): Promise<void> {
  const log = await EventLog.open({ dir, jobId, stream });
  await log.append({ event_type: 'job_started', data: { config: {}, total_items: count } });
  for (let i = 1; i < count; i++) await log.append(progressEvent(i));
  await log.close();
}

describe('events tail', () => {
  it('prints the newest n events in order, like query --last n', async () => {
    const tail = await runCli(['tail', '--dir', BASIC, '-n', '4', '--json']);
    const last = await runCli(['query', '--dir', BASIC, '--last', '4', '--json']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout, last.stdout);
    assert.equal(parse(tail.stdout.split('\n')).length, 4);
    const filtered = await runCli(['tail', '--dir', BASIC, '--kind', 'agent_failed', '--json']);
    const failed = await runCli([
      'query',
      '--dir',
      BASIC,
      '--kind',
      'agent_failed',
      '--last',
      '10',
      '--json',
    ]);
    assert.equal(filtered.stdout, failed.stdout);
    const none = await runCli(['tail', '--dir', BASIC, '-n', '0']);
    assert.deepEqual([none.code, none.stdout], [0, '']);
  });

  it('-f follows appends, a new stream, a rotation and a new job, each event once, until Ctrl-C', async () => {
    const dir = tempDir();
    await jobWith(dir, 'job-a', 5);
    const tail = new LiveCli(['tail', '--dir', dir, '-n', '2', '-f', '--json']);
    assert.deepEqual(
      parse(await tail.waitForLines(2)).map((r) => r.seq),
      [4, 5],
    );

    const main = await EventLog.open({ dir, jobId: 'job-a', stream: 'main', rotateBytes: 2048 });
    for (let i = 0; i < 10; i++) await main.append(progressEvent(100 + i));
    await tail.waitForLines(12);

    const second = await EventLog.open({ dir, jobId: 'job-a', stream: 'second' });
    await second.append(progressEvent(200, 'agent-2'));
    await tail.waitForLines(13);

    // Enough to fill several 2 KiB segments of stream main.
    for (let i = 0; i < 40; i++) await main.append(progressEvent(300 + i));
    await tail.waitForLines(53);

    await jobWith(dir, 'job-b', 3);
    const lines = await tail.waitForLines(56);
    await Promise.all([main.close(), second.close()]);

    const streamMainSegments = segmentFiles(path.join(dir, 'job-a')).filter((f) => f.includes('-main-'));
    assert.ok(streamMainSegments.length > 3, 'stream main rotated while followed');
    const records = parse(lines);
    const mainSeqs = records.filter((r) => r.job_id === 'job-a' && r.stream === 'main').map((r) => r.seq);
    assert.deepEqual(
      mainSeqs,
      Array.from({ length: 52 }, (_, i) => i + 4),
      'stream main: every event once, in order, across segments',
    );
    assert.deepEqual(
      records.filter((r) => r.stream === 'second').map((r) => r.seq),
      [1],
    );
    assert.deepEqual(
      records.filter((r) => r.job_id === 'job-b').map((r) => r.event_type),
      ['job_started', 'agent_progress', 'agent_progress'],
    );

    tail.kill('SIGINT');
    assert.deepEqual(await tail.exited, { code: 0, signal: null });
    assert.equal(tail.stderr, '');
    assert.equal(tail.lines.filter(Boolean).length, 56, 'nothing printed twice');
  });

  for (const n of [0, 3]) {
    it(`-f -n ${n} prints only the newest ${n} and then what is written after it started, never history of ended jobs`, async () => {
      const dir = tempDir();
      // Jobs that ended: their last segments are sealed and compressed (rotated every 2 KiB too).
      for (const job of ['old-1', 'old-2']) {
        const log = await EventLog.open({ dir, jobId: job, rotateBytes: 2048 });
        for (let i = 0; i < 60; i++) await log.append(progressEvent(i));
        await log.append({
          event_type: 'job_completed',
          data: { duration_ms: 1, success_count: 60, failure_count: 0 },
        });
        await log.close();
      }
      assert.ok(segmentFiles(path.join(dir, 'old-1')).every((f) => f.endsWith('.gz')));
      await jobWith(dir, 'live', 5);
      const tail = new LiveCli(['tail', '--dir', dir, '-n', String(n), '-f', '--json']);
      if (n > 0) await tail.waitForLines(n);
      // Let it look at every stream (a thorough pass runs about once a second) before anything new.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(
        tail.lines.filter(Boolean).length,
        n,
        `history reprinted: ${tail.lines.slice(n, n + 3).join(' ')}`,
      );
      const log = await EventLog.open({ dir, jobId: 'live' });
      for (let i = 0; i < 3; i++) await log.append(progressEvent(900 + i));
      await log.close();
      const lines = parse(await tail.waitForLines(n + 3));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(tail.lines.filter(Boolean).length, n + 3);
      assert.deepEqual(
        lines.slice(n).map((r) => `${r.job_id}:${r.seq}`),
        ['live:6', 'live:7', 'live:8'],
      );
      tail.kill('SIGINT');
    });
  }

  it('-f --job prints only that job and applies the filters to new events', async () => {
    const dir = tempDir();
    await jobWith(dir, 'job-a', 2);
    await jobWith(dir, 'job-b', 2);
    const tail = new LiveCli([
      'tail',
      '--dir',
      dir,
      '--job',
      'job-a',
      '-f',
      '--kind',
      'agent_failed',
      '--json',
    ]);
    const a = await EventLog.open({ dir, jobId: 'job-a' });
    const b = await EventLog.open({ dir, jobId: 'job-b' });
    const failed = {
      event_type: 'agent_failed',
      agent_id: 'agent-1',
      data: { error: 'boom', retry_eligible: true },
    };
    await b.append(failed);
    await a.append(progressEvent(9));
    await a.append(failed);
    const [line] = await tail.waitForLines(1);
    assert.deepEqual(
      [JSON.parse(line ?? '{}').job_id, JSON.parse(line ?? '{}').event_type],
      ['job-a', 'agent_failed'],
    );
    await Promise.all([a.close(), b.close()]);
    tail.kill('SIGTERM');
    assert.equal((await tail.exited).code, 0);
    assert.equal(tail.lines.filter(Boolean).length, 1);
  });

  it('--until-done exits 0 when the job completes and 4 when it fails', async () => {
    const dir = tempDir();
    await jobWith(dir, 'ok', 2);
    await jobWith(dir, 'bad', 2);
    const ok = new LiveCli(['tail', '--dir', dir, '--job', 'ok', '-f', '--until-done', '-n', '1', '--json']);
    const bad = new LiveCli(['tail', '--dir', dir, '--job', 'bad', '--until-done', '-n', '1', '--json']);
    // The first line is the newest event already there: from then on the tail is following.
    await Promise.all([ok.waitForLines(1), bad.waitForLines(1)]);
    const okLog = await EventLog.open({ dir, jobId: 'ok' });
    const badLog = await EventLog.open({ dir, jobId: 'bad' });
    await okLog.append({
      event_type: 'job_completed',
      data: { duration_ms: 5, success_count: 1, failure_count: 0 },
    });
    await badLog.append({ event_type: 'job_failed', data: { error: 'out of workers', partial_results: 1 } });
    await Promise.all([okLog.close(), badLog.close()]);
    assert.equal((await ok.exited).code, 0, ok.stderr);
    assert.deepEqual(
      parse(ok.lines).map((r) => r.event_type),
      ['agent_progress', 'job_completed'],
    );
    assert.equal((await bad.exited).code, 4);
    assert.match(bad.stderr, /^events: job bad failed/);

    // A job that already ended: the command returns at once.
    const again = await runCli(['tail', '--dir', dir, '--job', 'ok', '--until-done', '-n', '1', '--json']);
    assert.equal(again.code, 0);
  });

  it('refuses combinations that cannot work, with exit 2', async () => {
    const noJob = await runCli(['tail', '--dir', BASIC, '--until-done']);
    assert.equal(noJob.code, 2);
    assert.match(noJob.stderr, /--until-done follows one job/);
    const table = await runCli(['tail', '--dir', BASIC, '-f', '-o', 'table']);
    assert.equal(table.code, 2);
    assert.match(table.stderr, /-o table/);
    const lines = await runCli(['tail', '--dir', BASIC, '-n', 'ten']);
    assert.equal(lines.code, 2);
    assert.match(lines.stderr, /-n takes a whole number/);
  });
});
