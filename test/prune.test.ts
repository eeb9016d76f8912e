import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, readEvents } from '../src/index.js';
import { LiveCli, progressEvent, rawLines, runCli, segmentFiles, tempDir } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const completed = {
  event_type: 'job_completed',
  data: { duration_ms: 1, success_count: 1, failure_count: 0 },
} as const;

async function writeJob(
  dir: string,
  job: string,
  events: number,
  options: { end?: boolean; stream?: string } = {},
) {
  const log = await EventLog.open({ dir, jobId: job, stream: options.stream, rotateBytes: 4096 });
  await log.append({ event_type: 'job_started', data: { config: {}, total_items: events } });
  for (let i = 0; i < events; i++) await log.append(progressEvent(i));
  if (options.end === true) await log.append(completed);
  await log.close();
}

/** Every event of a job as `stream:seq`. */
async function keys(dir: string, job: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { record } of readEvents({ dir, jobs: [job] })) out.push(`${record.stream}:${record.seq}`);
  return out.sort(byStreamAndSeq);
}

function byStreamAndSeq(a: string, b: string): number {
  const [sa = '', qa = '0'] = a.split(':');
  const [sb = '', qb = '0'] = b.split(':');
  return sa.localeCompare(sb) || Number(qa) - Number(qb);
}

function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** The chain of a stream from where LOG.json says it now starts. */
function checkSuffix(jobDir: string, stream: string): number {
  const manifest = JSON.parse(fs.readFileSync(path.join(jobDir, 'LOG.json'), 'utf8')) as {
    start: Record<string, { seq: number; prev: string }>;
  };
  const start = manifest.start[stream];
  assert.ok(start !== undefined, `LOG.json says where stream ${stream} starts`);
  let { seq, prev } = start;
  for (const file of segmentFiles(jobDir).filter((f) => f.includes(`-${stream}-`))) {
    for (const line of rawLines(file)) {
      const r = JSON.parse(line) as { seq: number; prev: string };
      assert.equal(r.seq, seq);
      assert.equal(r.prev, prev);
      prev = crypto.createHash('sha256').update(line).digest('hex').slice(0, 32);
      seq++;
    }
  }
  return seq - start.seq;
}

describe('events prune', () => {
  it('--older-than: finished jobs whole, old sealed segments of the others; dry-run changes nothing', async () => {
    const dir = tempDir();
    await writeJob(dir, 'done', 60, { end: true });
    await writeJob(dir, 'stopped', 60);
    const live = await EventLog.open({ dir, jobId: 'live', rotateBytes: 4096 });
    for (let i = 0; i < 60; i++) await live.append(progressEvent(i));
    await sleep(1200);
    for (let i = 0; i < 3; i++) await live.append(progressEvent(100 + i));
    const before = listing(dir);
    const liveBefore = await keys(dir, 'live');

    const dry = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(listing(dir), before, 'a dry run changes nothing');
    const planned = JSON.parse(dry.stdout) as { items: { job: string; kind: string }[]; bytesFreed: number };
    assert.ok(planned.items.some((i) => i.job === 'done' && i.kind === 'job'));
    assert.ok(
      !planned.items.some((i) => i.kind === 'job' && i.job !== 'done'),
      'only the finished job goes whole',
    );
    assert.ok(planned.items.some((i) => i.job === 'live' && i.kind === 'segment'));
    assert.ok(planned.items.some((i) => i.job === 'stopped' && i.kind === 'segment'));

    const run = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).items, planned.items, 'the dry run said exactly what went');
    assert.ok(!fs.existsSync(path.join(dir, 'done')));
    for (const job of ['live', 'stopped']) {
      const kept = await keys(dir, job);
      assert.ok(kept.length > 0 && kept.length < 62, `${job} keeps a suffix (${kept.length} events)`);
      assert.equal(
        checkSuffix(path.join(dir, job), 'main'),
        kept.length,
        `${job}: the kept log is a contiguous suffix`,
      );
    }
    assert.deepEqual(
      (await keys(dir, 'live')).slice(-3),
      liveBefore.slice(-3),
      'the newest events of the live job are kept',
    );
    for (let i = 0; i < 3; i++) await live.append(progressEvent(200 + i));
    await live.close();

    const audit = fs.readdirSync(path.join(dir, 'global')).filter((f) => f.startsWith('audit-'));
    const records = audit.flatMap((f) => rawLines(path.join(dir, 'global', f))).map((l) => JSON.parse(l));
    assert.equal(records.length, planned.items.length);
    for (const r of records) {
      assert.equal(r.action, 'deleted');
      assert.match(r.reason, /^older-than 1s$/);
      assert.ok(r.bytes > 0 && Object.values(r.last_hash).every((h) => /^[0-9a-f]{32}$/.test(h as string)));
    }
    const again = await runCli(['prune', '--dir', dir, '--older-than', '1h']);
    assert.equal(again.stdout, 'nothing to prune\n');
  });

  it('--max-size removes the oldest until the directory fits; --keep-jobs protects the newest', async () => {
    const dir = tempDir();
    for (const job of ['j1', 'j2', 'j3', 'j4']) await writeJob(dir, job, 40, { end: true });
    const size = () =>
      (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => !f.startsWith('global'))
        .reduce(
          (n, f) => n + (fs.statSync(path.join(dir, f)).isFile() ? fs.statSync(path.join(dir, f)).size : 0),
          0,
        );
    const total = size();
    const limit = Math.floor(total * 0.6);
    const run = await runCli([
      'prune',
      '--dir',
      dir,
      '--max-size',
      String(limit),
      '--keep-jobs',
      '1',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(size() <= limit, `${size()} bytes left, limit ${limit}`);
    assert.ok(!fs.existsSync(path.join(dir, 'j1')), 'the oldest job went first');
    assert.ok(fs.existsSync(path.join(dir, 'j4')), 'the newest job is kept');
    const kept = await runCli(['prune', '--dir', dir, '--max-size', '1', '--keep-jobs', '1', '--json']);
    assert.ok(fs.existsSync(path.join(dir, 'j4')), '--keep-jobs keeps it even over the limit');
    assert.ok(!(JSON.parse(kept.stdout) as { items: { job: string }[] }).items.some((i) => i.job === 'j4'));
  });

  it('--max-events keeps at most about n events per job, by whole segments from the oldest', async () => {
    const dir = tempDir();
    await writeJob(dir, 'big', 200);
    const all = await keys(dir, 'big');
    const run = await runCli(['prune', '--dir', dir, '--max-events', '50']);
    assert.equal(run.code, 0, run.stderr);
    const kept = await keys(dir, 'big');
    const newestSegment = rawLines(segmentFiles(path.join(dir, 'big')).at(-1) as string).length;
    assert.ok(kept.length <= Math.max(50, newestSegment), `${kept.length} kept`);
    assert.ok(kept.length >= 50 - 20, 'only whole segments go, not more than needed');
    assert.equal(checkSuffix(path.join(dir, 'big'), 'main'), kept.length);
    assert.ok(all.length > kept.length);
  });

  it('--archive moves what goes into a readable events directory', async () => {
    const dir = tempDir();
    const archive = path.join(tempDir(), 'archive');
    await writeJob(dir, 'old', 60, { end: true });
    await writeJob(dir, 'running', 60);
    const before = { old: await keys(dir, 'old'), running: await keys(dir, 'running') };
    await sleep(1100);
    const run = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--archive', archive]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await keys(archive, 'old'), before.old);
    const union = [...(await keys(archive, 'running')), ...(await keys(dir, 'running'))].sort(byStreamAndSeq);
    assert.deepEqual(union, before.running, 'archive and kept log together hold every event once');
    const query = await runCli([
      'query',
      '--dir',
      archive,
      '--job',
      'old',
      '--kind',
      'job_completed',
      '--json',
    ]);
    assert.equal(query.stdout.trim().split('\n').length, 1);
  });

  it('a second prune exits at once while one holds the lock (exit 6); a stale lock is taken over', async () => {
    const dir = tempDir();
    await writeJob(dir, 'j', 10, { end: true });
    fs.mkdirSync(path.join(dir, 'global'));
    const lock = path.join(dir, 'global', 'prune.lock');
    fs.writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }),
    );
    const busy = await runCli(['prune', '--dir', dir, '--older-than', '1d']);
    assert.equal(busy.code, 6);
    assert.match(busy.stderr, /^events: events prune is locked by pid \d+/);
    fs.writeFileSync(
      lock,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), started: '2026-01-01' }),
    );
    const stale = await runCli(['prune', '--dir', dir, '--older-than', '1d']);
    assert.equal(stale.code, 0, stale.stderr);
    assert.ok(!fs.existsSync(lock), 'the lock is released after the run');
  });

  it('runs while a writer appends and tail -f follows: nothing the writer acknowledges is missed', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'busy', rotateBytes: 4096 });
    for (let i = 0; i < 80; i++) await log.append(progressEvent(i));
    const tail = new LiveCli(['tail', '--dir', dir, '--job', 'busy', '-n', '1', '-f', '--json']);
    await tail.waitForLines(1);
    await sleep(1100);
    const appending = (async () => {
      for (let i = 0; i < 60; i++) await log.append(progressEvent(1000 + i));
    })();
    const pruned = await runCli(['prune', '--dir', dir, '--older-than', '1s']);
    await appending;
    assert.equal(pruned.code, 0, pruned.stderr);
    await tail.waitForLines(61);
    const seqs = tail.lines.filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 61 }, (_, i) => 80 + i),
    );
    tail.kill('SIGINT');
    await log.close();
    assert.equal(checkSuffix(path.join(dir, 'busy'), 'main'), (await keys(dir, 'busy')).length);
  });
});
