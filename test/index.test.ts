import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import {
  EventLog,
  lastOf,
  readEvents,
  readLastEvents,
  type EventFilter,
  type EventInput,
} from '../src/index.js';
import { checkChain, logIdOf, rawLines, runCli, segmentFiles, tempDir } from './helpers.js';

const TYPES = ['agent_progress', 'agent_failed', 'deploy_step', 'queue_depth_changed'] as const;

/** Two jobs, three writers each, rotating every ~8 KiB, with 1 KiB index blocks. */
async function rotatedLog(): Promise<string> {
  const dir = tempDir();
  for (const job of ['job-a', 'job-b']) {
    const logs = await Promise.all(
      ['main', 'w2', 'w3'].map((stream) =>
        EventLog.open({
          dir,
          jobId: job,
          stream,
          rotateBytes: 8192,
          indexBlockBytes: 1024,
          durability: 'write',
        }),
      ),
    );
    for (let i = 0; i < 600; i++) {
      const type = TYPES[(i * 7 + (i >> 5)) % TYPES.length] as string;
      const agent = `agent-${(i >> 4) % 6}`;
      const data: Record<string, Record<string, unknown>> = {
        agent_progress: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
        agent_failed: { item_id: `item-${i}`, error: 'boom', retry_eligible: true },
        deploy_step: { n: i },
        queue_depth_changed: { pending: 1, active: 1, completed: i },
      };
      await (logs[i % 3] as EventLog).append({
        event_type: type as 'deploy_step',
        agent_id: type === 'queue_depth_changed' ? undefined : agent,
        data: data[type] as Record<string, number>,
      });
    }
    await Promise.all(logs.map((log) => log.close()));
  }
  return dir;
}

const key = (r: { job_id: string; stream: string; seq: number }) => `${r.job_id}/${r.stream}:${r.seq}`;

async function ids(options: Parameters<typeof readEvents>[0]): Promise<string[]> {
  const out: string[] = [];
  for await (const { record } of readEvents(options))
    out.push(`${record.job_id}/${record.stream}:${record.seq}`);
  return out;
}

describe('segment indexes', () => {
  it('indexed reads return exactly what a full scan returns, for random filters', async () => {
    const dir = await rotatedLog();
    const plain = tempDir();
    fs.cpSync(dir, plain, { recursive: true });
    for (const job of fs.readdirSync(plain)) {
      for (const f of fs.readdirSync(path.join(plain, job)))
        if (f.endsWith('.idx')) fs.rmSync(path.join(plain, job, f));
    }
    const idxCount = fs.readdirSync(path.join(dir, 'job-a')).filter((f) => f.endsWith('.idx')).length;
    assert.ok(idxCount > 10, `rotation made ${idxCount} indexed segments`);
    const all = await ids({ dir: plain });
    const times: string[] = [];
    for await (const { record } of readEvents({ dir: plain })) times.push(record.ts);
    let state = 7;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const us = (ts: string) => Date.parse(ts.slice(0, 23) + 'Z') * 1000 + Number(ts.slice(23, 26));
    for (let round = 0; round < 120; round++) {
      const filter: EventFilter = {
        kinds: TYPES.filter(() => random() < 0.3),
        agents: random() < 0.3 ? [`agent-${Math.floor(random() * 6)}`] : [],
        sinceUs: random() < 0.4 ? us(times[Math.floor(random() * times.length)] as string) : undefined,
        untilUs: random() < 0.4 ? us(times[Math.floor(random() * times.length)] as string) : undefined,
      };
      assert.deepEqual(
        await ids({ dir, ...filter }),
        await ids({ dir: plain, ...filter }),
        JSON.stringify(filter),
      );
      // --last N walks the indexes backwards: the same events as the newest N of a full scan.
      const n = Math.floor(random() * 40);
      const backwards = (await readLastEvents({ dir, ...filter }, n)).events.map((e) => key(e.record));
      const scanned = (await lastOf(readEvents({ dir: plain, ...filter }), n)).map((e) => key(e.record));
      assert.deepEqual(backwards, scanned, `last ${n} of ${JSON.stringify(filter)}`);
    }
    assert.equal((await ids({ dir })).length, all.length);
    assert.equal(all.length, 1200);
  });

  it('seals rotated segments and the last one of a finished job; a reopen starts a new segment', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-s');
    let log = await EventLog.open({ dir, jobId: 'job-s', rotateBytes: 4096 });
    for (let i = 0; i < 60; i++) await log.append({ event_type: 'deploy_step', data: { i } });
    await log.append({
      event_type: 'job_completed',
      data: { duration_ms: 1, success_count: 1, failure_count: 0 },
    });
    await log.close();
    const files = segmentFiles(jobDir);
    assert.ok(
      files.every((f) => f.endsWith('.jsonl.gz')),
      'sealed segments are compressed',
    );
    for (const file of files) {
      const entries = rawLines(file.replace(/\.jsonl(\.gz)?$/, '.idx')).map(
        (l) => JSON.parse(l) as Record<string, unknown>,
      );
      const seal = entries.at(-1) as {
        seal: boolean;
        sha256: string;
        last_hash: string;
        count: number;
        bytes: number;
      };
      assert.equal(seal.seal, true, `${path.basename(file)} is sealed`);
      const bytes = zlib.gunzipSync(fs.readFileSync(file));
      assert.equal(seal.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
      assert.equal(seal.bytes, bytes.length);
      const last = rawLines(file).at(-1) as string;
      assert.equal(seal.last_hash, crypto.createHash('sha256').update(last).digest('hex').slice(0, 32));
      assert.equal(seal.count, rawLines(file).length);
    }
    log = await EventLog.open({ dir, jobId: 'job-s' });
    await log.append({ event_type: 'job_resumed', data: { checkpoint_version: 1, pending_items: 0 } });
    await log.close();
    const after = segmentFiles(jobDir);
    assert.equal(after.length, files.length + 1, 'the resumed job writes to a new segment');
    assert.equal(checkChain(after, logIdOf(jobDir), 'main').length, 62);
  });

  it('the index a writer seals from what it wrote is the one a scan of the segment builds, byte for byte', async () => {
    const dir = tempDir();
    const hmacKey = Buffer.from('a key of the writers, long enough');
    const write = async (
      jobId: string,
      options: Partial<Parameters<typeof EventLog.open>[0]>,
      from: number,
    ) => {
      // Blocks of the default size (what --rebuild builds), about three to a segment.
      const log = await EventLog.open({ dir, jobId, rotateBytes: 150_000, ...options });
      for (let at = from; at < from + 1500; at += 100) {
        const events = Array.from({ length: 100 }, (_, k) => {
          const i = at + k;
          return {
            event_type: i % 5 === 0 ? 'deploy_step' : 'agent_progress',
            agent_id: i % 5 === 0 ? undefined : `agent-${i % 7}`,
            data: { item_id: `item-${i}`, step: 'b\u00e9 "quoted"', progress_pct: i % 100 },
          } as EventInput;
        });
        await log.appendMany(events);
      }
      await log.close();
    };
    await write('plain', { compress: false }, 0);
    await write('gzip', {}, 0);
    await write('buffered', { durability: 'buffered', compress: false }, 0);
    await write('keyed', { hmacKey, compress: false }, 0);
    // Reopened mid-segment: the writer did not see that segment whole, and seals it by reading it.
    await write('keyed', { hmacKey, compress: false }, 1500);
    const indexes = (job: string) =>
      fs
        .readdirSync(path.join(dir, job))
        .filter((f) => f.endsWith('.idx'))
        .sort()
        .map((f) => [f, fs.readFileSync(path.join(dir, job, f), 'utf8')]);
    const jobs = ['plain', 'gzip', 'buffered', 'keyed'];
    const written = jobs.map(indexes);
    for (const idx of written) assert.ok(idx.length >= 3, `${idx.length} segments rotated`);
    const env = { EVENTS_HMAC_KEY: hmacKey.toString() };
    const check = await runCli(['index', '--dir', dir, '--check'], { env });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const rebuild = await runCli(['index', '--dir', dir, '--rebuild'], { env });
    assert.equal(rebuild.code, 0, rebuild.stderr);
    assert.deepEqual(jobs.map(indexes), written);
  });

  it('ignores an index that disagrees with its segment, with a warning; index --check finds it, --rebuild fixes it', async () => {
    const dir = await rotatedLog();
    const jobDir = path.join(dir, 'job-a');
    const idx = fs.readdirSync(jobDir).filter((f) => f.endsWith('.idx'))[2] as string;
    const segment = segmentFiles(jobDir)
      .map((f) => path.basename(f))
      .find((f) => f.startsWith(idx.replace('.idx', ''))) as string;
    const entries = rawLines(path.join(jobDir, idx)).map(
      (l) => JSON.parse(l) as { off?: number[]; seq?: number[] },
    );
    const block = entries[1] as { off: number[]; seq: number[] };
    block.seq = [(block.seq[0] as number) + 1, block.seq[1] as number];
    fs.writeFileSync(path.join(jobDir, idx), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');

    const query = await runCli(['query', '--dir', dir, '--job', 'job-a', '--kind', 'agent_failed']);
    const expected = (await ids({ dir, jobs: ['job-a'], kinds: ['agent_failed'] })).length;
    assert.equal(query.code, 0);
    assert.equal(query.stdout.trim().split('\n').length, expected);
    assert.match(query.stderr, new RegExp(`^warning: ignored the index of job-a/${segment}: `));

    const check = await runCli(['index', '--dir', dir, '--check', '--json']);
    assert.equal(check.code, 4);
    const bad = check.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; segment: string })
      .filter((r) => r.status !== 'ok');
    assert.deepEqual(
      bad.map((r) => r.segment),
      [segment],
    );
    const rebuild = await runCli(['index', '--dir', dir, '--rebuild']);
    assert.equal(rebuild.code, 0, rebuild.stderr);
    const again = await runCli(['index', '--dir', dir, '--check']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const quiet = await runCli(['query', '--dir', dir, '--job', 'job-a', '--kind', 'agent_failed']);
    assert.equal(quiet.stderr, '');

    // A sealed segment always has an index: one that is missing is noticed, and the segment read.
    fs.rmSync(path.join(jobDir, idx));
    const missing = await runCli(['query', '--dir', dir, '--job', 'job-a', '--kind', 'agent_failed']);
    assert.equal(missing.stdout, quiet.stdout);
    assert.match(
      missing.stderr,
      new RegExp(
        `^warning: ignored the index of job-a/${segment}: the index file is missing; read the segment`,
      ),
    );
  });

  it('events jobs keeps each job summary in index.json, and reads the log again once it has changed', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'sum' });
    for (let i = 0; i < 5; i++) await log.append({ event_type: 'deploy_step', data: { i } });
    await log.close();
    const events = async () =>
      (
        (JSON.parse((await runCli(['jobs', '--dir', dir, '--json'])).stdout) as { events: number }[])[0] ?? {
          events: -1,
        }
      ).events;
    assert.equal(await events(), 5);
    const file = path.join(dir, 'sum', 'index.json');
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as { summary: { events: number } };
    cached.summary.events = 999;
    fs.writeFileSync(file, JSON.stringify(cached));
    assert.equal(await events(), 999, 'an unchanged log is not read again');
    const again = await EventLog.open({ dir, jobId: 'sum' });
    await again.append({ event_type: 'deploy_step', data: { i: 6 } });
    await again.close();
    assert.equal(await events(), 6, 'a changed log is read again');
    fs.writeFileSync(file, '{broken');
    assert.equal(await events(), 6, 'a damaged summary is made again');
  });
});
