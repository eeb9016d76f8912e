import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import {
  EventLog,
  InvalidArgumentError,
  LockedError,
  LogClosedError,
  withCorrelation,
  WriteError,
  type Durability,
} from '../src/index.js';
import {
  checkChain,
  fillUp,
  logIdOf,
  progressEvent,
  rawLines,
  segmentFiles,
  tempDir,
  withTinyFilesystem,
} from './helpers.js';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('writer: sequence, chain and timestamps', () => {
  for (const durability of ['fsync', 'write', 'buffered'] as Durability[]) {
    it(`${durability}: 64 concurrent producers get contiguous seqs and an unbroken chain`, async () => {
      const dir = tempDir();
      const log = await EventLog.open({ dir, jobId: 'job-seq', durability });
      const receipts = await Promise.all(
        Array.from({ length: 64 }, async (_, p) => {
          const mine = [];
          for (let i = 0; i < 30; i++) mine.push(await log.append(progressEvent(i, `agent-${p}`)));
          return mine;
        }),
      );
      await log.close();
      const jobDir = path.join(dir, 'job-seq');
      const records = checkChain(segmentFiles(jobDir)[0] as string, logIdOf(jobDir), 'main');
      assert.equal(records.length, 64 * 30);
      const seqs = receipts
        .flat()
        .map((r) => r.seq)
        .sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: 64 * 30 }, (_, i) => i + 1),
        'every receipt names its own seq',
      );
      for (const r of receipts.flat()) {
        const record = records[r.seq - 1] as { id: string; ts: string };
        assert.equal(record.id, r.id);
        assert.equal(record.ts, r.ts);
      }
      let lastTs = '';
      for (const record of records) {
        assert.match(String(record.ts), TS);
        assert.match(String(record.id), UUID7);
        assert.ok(String(record.ts) >= lastTs, 'timestamps never go backwards in a stream');
        lastTs = String(record.ts);
      }
    });
  }

  it('reopening continues seq and chain, and remembers ids for idempotent retries', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-re');
    let log = await EventLog.open({ dir, jobId: 'job-re' });
    const first = await log.append({ ...progressEvent(1), id: 'producer-id-1' });
    await log.append(progressEvent(2));
    await log.close();
    log = await EventLog.open({ dir, jobId: 'job-re' });
    assert.equal(log.lastSeq, 2);
    const retried = await log.append({ ...progressEvent(1), id: 'producer-id-1' });
    assert.deepEqual(retried, first, 'a retry of an id written before the restart returns the first receipt');
    const third = await log.append(progressEvent(3));
    assert.equal(third.seq, 3);
    const again = await Promise.all([
      log.append({ ...progressEvent(4), id: 'producer-id-4' }),
      log.append({ ...progressEvent(4), id: 'producer-id-4' }),
    ]);
    assert.deepEqual(again[0], again[1], 'concurrent retries share one write');
    await log.close();
    const records = checkChain(segmentFiles(jobDir)[0] as string, logIdOf(jobDir), 'main');
    assert.deepEqual(
      records.map((r) => r.seq),
      [1, 2, 3, 4],
    );
    assert.equal(records.filter((r) => r.id === 'producer-id-4').length, 1);
  });

  for (const durability of ['fsync', 'buffered'] as Durability[]) {
    it(`${durability}: rotates at rotateBytes into segments that continue seq and chain, also after a reopen`, async () => {
      const dir = tempDir();
      const jobDir = path.join(dir, 'job-rot');
      let log = await EventLog.open({
        dir,
        jobId: 'job-rot',
        durability,
        rotateBytes: 4096,
        batchBytes: 1024,
      });
      await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(progressEvent(i))));
      await log.close();
      log = await EventLog.open({ dir, jobId: 'job-rot', durability, rotateBytes: 4096 });
      for (let i = 200; i < 300; i++) await log.append(progressEvent(i));
      await log.close();
      const files = segmentFiles(jobDir);
      assert.ok(files.length >= 10, `expected many segments, got ${files.length}`);
      for (const file of files.slice(0, -1)) {
        // A segment is sealed once it reaches rotateBytes; it overshoots by at most one batch.
        const stored = fs.readFileSync(file);
        const size = (file.endsWith('.gz') ? zlib.gunzipSync(stored) : stored).length;
        assert.ok(size >= 4096 && size < 4096 + 2048, `${path.basename(file)} is ${size} bytes`);
      }
      const records = checkChain(files, logIdOf(jobDir), 'main');
      assert.equal(records.length, 300);
      for (const file of files) {
        const base = Number(/-(\d{20})\.jsonl(\.gz)?$/.exec(file)?.[1]);
        assert.equal(
          JSON.parse(rawLines(file)[0] ?? '{}').seq ?? base,
          base,
          `${file} starts at its base seq`,
        );
      }
    });
  }

  it('rotates a segment once its first event is rotateAgeMs old, also one it reopens', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-age');
    let log = await EventLog.open({ dir, jobId: 'job-age', rotateAgeMs: 1000 });
    await log.append(progressEvent(1));
    await log.append(progressEvent(2));
    await log.close();
    assert.equal(segmentFiles(jobDir).length, 1, 'young: no rotation');
    await new Promise((r) => setTimeout(r, 1100));
    log = await EventLog.open({ dir, jobId: 'job-age', rotateAgeMs: 1000 });
    await log.append(progressEvent(3)); // lands in the old segment, which is then sealed
    await log.append(progressEvent(4));
    await log.close();
    const files = segmentFiles(jobDir);
    assert.equal(files.length, 2);
    assert.deepEqual(
      files.map((f) => rawLines(f).length),
      [3, 1],
    );
    assert.equal(checkChain(files, logIdOf(jobDir), 'main').length, 4);
  });

  it('withCorrelation sets the correlation id through nested async work; the default is the job id', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'job-corr' });
    await log.append({ event_type: 'checkpoint_loaded', data: { version: 1 } });
    await log.withCorrelation('job-corr/item-7', async () => {
      await new Promise((r) => setTimeout(r, 5));
      await Promise.all([
        log.append(progressEvent(7)),
        withCorrelation('inner', () => log.append(progressEvent(8))),
        log.append({ ...progressEvent(9), correlation_id: 'explicit' }),
      ]);
    });
    await log.close();
    const records = rawLines(segmentFiles(path.join(dir, 'job-corr'))[0] as string).map((l) => JSON.parse(l));
    assert.deepEqual(
      records.map((r) => r.correlation_id),
      ['job-corr', 'job-corr/item-7', 'inner', 'explicit'],
    );
  });

  it('rejects appends after close with LogClosedError', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'job-closed' });
    await log.close();
    await log.close();
    await assert.rejects(log.append(progressEvent(1)), LogClosedError);
  });

  it('echoes every written record to a second output', async () => {
    const dir = tempDir();
    const out = new PassThrough();
    let echoed = '';
    out.on('data', (d: Buffer) => (echoed += d.toString()));
    const log = await EventLog.open({ dir, jobId: 'job-echo', echo: { format: 'jsonl', stream: out } });
    await log.append(progressEvent(1));
    await log.append({
      event_type: 'agent_failed',
      agent_id: 'agent-9',
      data: { error: 'exit 3', retry_eligible: false },
    });
    await log.close();
    const file = segmentFiles(path.join(dir, 'job-echo'))[0] as string;
    assert.equal(echoed, fs.readFileSync(file, 'utf8'));

    const pretty = new PassThrough();
    let text = '';
    pretty.on('data', (d: Buffer) => (text += d.toString()));
    const log2 = await EventLog.open({ dir, jobId: 'job-echo', echo: { format: 'pretty', stream: pretty } });
    await log2.append({
      event_type: 'agent_failed',
      agent_id: 'agent-9',
      data: { error: 'exit 3', retry_eligible: false },
    });
    await log2.close();
    assert.match(text, /job-echo agent-9 agent_failed error error="exit 3"\n$/);
  });
});

describe('writer: ids, streams and locks', () => {
  const badIds = [
    '',
    '..',
    '.hidden',
    'a/b',
    'a\\b',
    'nul\0byte',
    'has space',
    'tab\tid',
    'x'.repeat(129),
    '-leading',
  ];
  for (const jobId of badIds) {
    it(`rejects job id ${JSON.stringify(jobId).slice(0, 30)} before touching the disk`, async () => {
      const dir = tempDir();
      await assert.rejects(EventLog.open({ dir, jobId }), (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.match(err.message, /invalid job id/);
        return true;
      });
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  }

  it('rejects a bad stream id', async () => {
    const dir = tempDir();
    await assert.rejects(EventLog.open({ dir, jobId: 'ok', stream: '../x' }), /invalid stream id/);
  });

  it('gives a second writer of the same job its own stream, and refuses an explicit stream in use', async () => {
    const dir = tempDir();
    const a = await EventLog.open({ dir, jobId: 'job-two' });
    const b = await EventLog.open({ dir, jobId: 'job-two' });
    assert.equal(a.stream, 'main');
    assert.match(b.stream, new RegExp(`-${process.pid}$`));
    await assert.rejects(EventLog.open({ dir, jobId: 'job-two', stream: 'main' }), LockedError);
    await Promise.all([a.append(progressEvent(1)), b.append(progressEvent(1))]);
    await a.close();
    await b.close();
    const c = await EventLog.open({ dir, jobId: 'job-two' });
    assert.equal(c.stream, 'main', 'main is free again once its writer closed');
    await c.close();
    assert.equal(segmentFiles(path.join(dir, 'job-two')).length, 2);
  });

  it('takes over the lock of a writer that died', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-stale');
    const log = await EventLog.open({ dir, jobId: 'job-stale' });
    await log.append(progressEvent(1));
    await log.close();
    // A lock left behind by a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max).
    fs.writeFileSync(
      path.join(jobDir, 'main.lock'),
      JSON.stringify({
        pid: 4194305,
        host: (await import('node:os')).hostname(),
        started: '2026-01-01T00:00:00Z',
      }),
    );
    const reopened = await EventLog.open({ dir, jobId: 'job-stale' });
    assert.equal(reopened.stream, 'main');
    assert.equal((await reopened.append(progressEvent(2))).seq, 2);
    await reopened.close();
    assert.equal(fs.existsSync(path.join(jobDir, 'main.lock')), false, 'close removes the lock');
  });

  it('opens under $MMM_EVENTS_DIR when no dir is given, as the CLI reads', async () => {
    const dir = tempDir();
    const saved = process.env.MMM_EVENTS_DIR;
    process.env.MMM_EVENTS_DIR = dir;
    try {
      const log = await EventLog.open({ jobId: 'job-env' });
      assert.equal(log.jobDir, path.join(dir, 'job-env'));
      await log.append(progressEvent(1));
      await log.close();
      const files = segmentFiles(path.join(dir, 'job-env'));
      assert.equal(files.length, 1);
      assert.equal(rawLines(files[0] as string).length, 1);
    } finally {
      if (saved === undefined) delete process.env.MMM_EVENTS_DIR;
      else process.env.MMM_EVENTS_DIR = saved;
    }
  });
});

describe('writer: recovery and failures', () => {
  it('moves a torn last line to quarantine/ and continues the chain after it', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-torn');
    const log = await EventLog.open({ dir, jobId: 'job-torn' });
    for (let i = 0; i < 5; i++) await log.append(progressEvent(i));
    await log.close();
    const file = segmentFiles(jobDir)[0] as string;
    const torn = '{"seq":6,"ts":"2026-11-22T14:37:01.1234';
    fs.appendFileSync(file, torn);
    const reopened = await EventLog.open({ dir, jobId: 'job-torn' });
    assert.equal((await reopened.append(progressEvent(6))).seq, 6);
    await reopened.close();
    const records = checkChain(file, logIdOf(jobDir), 'main');
    assert.equal(records.length, 6);
    const quarantined = fs.readdirSync(path.join(jobDir, 'quarantine'));
    assert.equal(quarantined.length, 1);
    assert.equal(fs.readFileSync(path.join(jobDir, 'quarantine', quarantined[0] as string), 'utf8'), torn);
  });

  it('reports a full disk (ENOSPC) as a typed WriteError and keeps the host running', async () => {
    await withTinyFilesystem('256k', async (dir) => {
      const log = await EventLog.open({ dir, jobId: 'job-full' });
      fillUp(dir);
      const results = await Promise.allSettled([log.append(progressEvent(1)), log.append(progressEvent(2))]);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const reason = (result as PromiseRejectedResult).reason as {
          name: string;
          code: string;
          kind: string;
        };
        assert.equal(reason.name, 'WriteError');
        assert.equal(reason.code, 'ENOSPC');
        assert.equal(reason.kind, 'io');
      }
      await log.close().catch(() => undefined);
    });
  });

  it('stopAfterWriteFailure: once a write failed, nothing later is written, though it would fit', async () => {
    const run = async (stop: boolean) => {
      let seen: unknown[] = [];
      await withTinyFilesystem('256k', async (dir) => {
        // One event per batch; a disk with 8 KiB left: the big event does not fit, the small ones would.
        const log = await EventLog.open({
          dir,
          jobId: 'ordered',
          stopAfterWriteFailure: stop,
          batchBytes: 1,
        });
        await log.append(progressEvent(0));
        fs.truncateSync(fillUp(dir), fs.statSync(path.join(dir, 'filler')).size - 8192);
        const big = { event_type: 'deploy_step', data: { blob: 'x'.repeat(32_768) } } as const;
        const outcomes = await log.appendMany([big, progressEvent(1), progressEvent(2)]);
        await log.close().catch(() => undefined);
        seen = outcomes.map((o) => (o instanceof Error ? (o as WriteError).code : o.seq));
      });
      return seen;
    };
    assert.deepEqual(await run(false), ['ENOSPC', 2, 3], 'without the option, later events take the seqs');
    assert.deepEqual(await run(true), ['ENOSPC', 'ENOSPC', 'ENOSPC']);
  });

  it('buffered mode reports a failing disk through onError and rejects once its buffer is full', async () => {
    await withTinyFilesystem('256k', async (dir) => {
      const errors: string[] = [];
      const log = await EventLog.open({
        dir,
        jobId: 'job-full-b',
        durability: 'buffered',
        batchBytes: 1024,
        maxBufferBytes: 8192,
        onError: (err) => errors.push(`${err.name} ${(err as { code?: string }).code}`),
      });
      fillUp(dir);
      let accepted = 0;
      let refused: unknown;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        await log.append(progressEvent(i)).then(
          () => accepted++,
          (err: unknown) => (refused = err),
        );
      }
      assert.ok(accepted > 0);
      assert.deepEqual(errors, ['WriteError ENOSPC']);
      assert.match(String(refused), /events .* are waiting to be written after ENOSPC/);
      await assert.rejects(log.close(), /buffered events could not be written/);
    });
  });

  it('rejects appends whose segment was deleted while the log was open', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'job-gone' });
    await log.append(progressEvent(1));
    fs.rmSync(path.join(dir, 'job-gone'), { recursive: true });
    await assert.rejects(log.append(progressEvent(2)), (err: unknown) => {
      assert.match(String(err), /deleted while the log was open/);
      return (err as { code: string }).code === 'ENOENT';
    });
    await log.close().catch(() => undefined);
  });

  it('registers no process listener on import, and one exit hook per process for buffered logs', async () => {
    const before = process.listenerCount('exit');
    const dir = tempDir();
    const a = await EventLog.open({ dir, jobId: 'job-hook', durability: 'buffered' });
    const b = await EventLog.open({ dir, jobId: 'job-hook', durability: 'buffered' });
    const c = await EventLog.open({ dir, jobId: 'job-hook-2' });
    assert.equal(process.listenerCount('exit'), before + 1);
    await a.close();
    assert.equal(process.listenerCount('exit'), before + 1);
    await b.close();
    await c.close();
    assert.equal(process.listenerCount('exit'), before);
  });

  it('rejects bad options', async () => {
    const dir = tempDir();
    await assert.rejects(
      EventLog.open({ dir, jobId: 'j', durability: 'sometimes' as Durability }),
      /durability must be fsync, write or buffered/,
    );
    await assert.rejects(
      EventLog.open({ dir, jobId: 'j', flushMs: -1 }),
      /flushMs must be a positive number/,
    );
  });
});
