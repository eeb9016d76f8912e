import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import {
  EventLog,
  followEvents,
  genesisHash,
  hashLine,
  readEvents,
  type ReadStats,
} from '../../src/index.js';
import { MAX_LINE_BYTES } from '../../src/storage/line-reader.js';
import {
  BIN,
  logIdOf,
  progressEvent,
  rawLines,
  runNode,
  segmentFiles,
  tempDir,
  type CliResult,
} from '../helpers.js';

const MIB = 1024 * 1024;

/** A job of `count` progress events in one plain segment, without its index (so it is scanned whole). */
async function plainJob(dir: string, job: string, count: number): Promise<string> {
  const log = await EventLog.open({ dir, jobId: job, compress: false, durability: 'write' });
  for (let i = 0; i < count; i++) await log.append(progressEvent(i));
  await log.close();
  const [file] = segmentFiles(path.join(dir, job)) as [string];
  fs.rmSync(file.replace(/\.jsonl$/, '.idx'));
  return file;
}

/** Replaces a plain segment by one gzip member of the same bytes, without an index (read as one stream). */
function gzipWhole(file: string, bytes: Buffer = fs.readFileSync(file)): string {
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 1 }));
  fs.rmSync(file);
  fs.rmSync(file.replace(/\.jsonl$/, '.idx'), { force: true });
  return `${file}.gz`;
}

/** Lines of a plain segment with `extra` inserted after its first line. */
function withLineAfterFirst(file: string, extra: Buffer): Buffer {
  const bytes = fs.readFileSync(file);
  const firstEnd = bytes.indexOf(0x0a) + 1;
  return Buffer.concat([bytes.subarray(0, firstEnd), extra, Buffer.from('\n'), bytes.subarray(firstEnd)]);
}

/** A line that is a valid record but longer than the reader's limit: it must be skipped all the same. */
function overlongRecord(file: string): Buffer {
  const first = fs.readFileSync(file, 'utf8').split('\n')[0] as string;
  const record = JSON.parse(first) as Record<string, unknown>;
  const filler = 'r'.repeat(MAX_LINE_BYTES + MIB);
  return Buffer.from(JSON.stringify({ ...record, seq: 99, event_type: 'custom_big', data: { filler } }));
}

async function readAll(dir: string): Promise<{ seqs: number[]; sizes: number[]; stats: ReadStats }> {
  const reader = readEvents({ dir });
  const seqs: number[] = [];
  const sizes: number[] = [];
  for await (const { record, line } of reader) {
    seqs.push(record.seq);
    sizes.push(line.length);
  }
  const [stats] = [...reader.stats.values()] as [ReadStats];
  return { seqs, sizes, stats };
}

/** A job whose one event is a line of about 12 MiB, then a small one. */
async function bigEventJob(dir: string, rotate: boolean): Promise<void> {
  const log = await EventLog.open({
    dir,
    jobId: 'big',
    durability: 'write',
    maxLineBytes: 16 * MIB,
    // Sealed and compressed after the big event: its block is one member of the indexed `.gz`.
    ...(rotate ? { rotateBytes: 4096 } : { compress: false }),
  });
  await log.append({ event_type: 'custom_big', data: { blob: 'b'.repeat(12 * MIB) } });
  await log.append(progressEvent(1));
  await log.close();
}

describe('a line is read in time linear in its length, up to MAX_LINE_BYTES', () => {
  it('a 12 MiB event is read back from a plain segment, an indexed .gz, and a .gz without an index', async () => {
    const plain = tempDir();
    await bigEventJob(plain, false);
    const indexed = tempDir();
    await bigEventJob(indexed, true);
    const gzFiles = fs.readdirSync(path.join(indexed, 'big')).filter((f) => f.endsWith('.jsonl.gz'));
    assert.equal(gzFiles.length, 1, 'the big event was sealed and compressed');
    const unindexed = tempDir();
    await bigEventJob(unindexed, false);
    gzipWhole(segmentFiles(path.join(unindexed, 'big'))[0] as string);
    for (const dir of [plain, indexed, unindexed]) {
      const { seqs, sizes, stats } = await readAll(dir);
      assert.deepEqual(seqs, [1, 2], dir);
      assert.ok((sizes[0] as number) > 12 * MIB, dir);
      assert.equal(stats.corrupt, 0, dir);
    }
  });

  it(
    'a 32 MiB gzip line without a newline is read in seconds and counted as corrupt',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir();
      await plainJob(dir, 'g', 3);
      // A few KiB on disk: dropped into a job as a segment of another stream.
      const garbage = zlib.gzipSync(Buffer.alloc(32 * MIB, 0x78));
      fs.writeFileSync(path.join(dir, 'g', 'events-zz-00000000000000000001.jsonl.gz'), garbage);
      const run = await runNode([BIN, 'query', '--dir', dir, '--json'], {
        // Quadratic reading took minutes: fail (and stop the child) long before that.
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim().split('\n').length, 3);
      assert.match(run.stderr, /skipped 1 corrupt line in g/);
    },
  );

  it('a 70 MiB line inside a .gz segment is skipped and counted; the other events are read', async () => {
    const dir = tempDir();
    const file = await plainJob(dir, 'z', 5);
    gzipWhole(file, withLineAfterFirst(file, Buffer.alloc(70 * MIB, 0x78)));
    const { seqs, stats } = await readAll(dir);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
    assert.equal(stats.corrupt, 1);
  });

  it('a 70 MiB line inside a plain segment is skipped and counted; the other events are read', async () => {
    const dir = tempDir();
    const file = await plainJob(dir, 'p', 5);
    fs.writeFileSync(file, withLineAfterFirst(file, Buffer.alloc(70 * MIB, 0x78)));
    const { seqs, stats } = await readAll(dir);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
    assert.equal(stats.corrupt, 1);
  });

  it('a valid record longer than MAX_LINE_BYTES is skipped as corrupt, plain or compressed', async () => {
    const plain = tempDir();
    const plainFile = await plainJob(plain, 'v', 3);
    fs.writeFileSync(plainFile, withLineAfterFirst(plainFile, overlongRecord(plainFile)));
    const compressed = tempDir();
    const gzFile = await plainJob(compressed, 'v', 3);
    gzipWhole(gzFile, withLineAfterFirst(gzFile, overlongRecord(gzFile)));
    for (const dir of [plain, compressed]) {
      const { seqs, stats } = await readAll(dir);
      assert.deepEqual(seqs, [1, 2, 3], dir);
      assert.equal(stats.corrupt, 1, dir);
    }
  });

  it('the follower skips and counts a line longer than MAX_LINE_BYTES, and reads a 12 MiB one', async () => {
    const dir = tempDir();
    const file = await plainJob(dir, 'f', 3);
    const big = JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[0] as string) as Record<string, unknown>;
    const twelve = Buffer.from(
      JSON.stringify({ ...big, seq: 50, data: { ...(big.data as object), step: 'x'.repeat(12 * MIB) } }),
    );
    fs.writeFileSync(
      file,
      Buffer.concat([withLineAfterFirst(file, overlongRecord(file)), twelve, Buffer.from('\n')]),
    );
    const seen: number[] = [];
    // Ends the follower should it never see the four events (it would poll for ever).
    const signal = AbortSignal.timeout(60_000);
    const follower = followEvents({ dir, pollMs: 10, signal, doneWhen: () => seen.length >= 4 });
    for await (const { record } of follower) seen.push(record.seq);
    assert.deepEqual(seen, [1, 2, 3, 50]);
    assert.equal(follower.stats.get('f')?.corrupt, 1);
  });

  it('a plain segment compressed between two chunks of a read is read on from the .gz, nothing lost or repeated', async () => {
    const dir = tempDir();
    const file = await plainJob(dir, 'c', 4000);
    assert.ok(fs.statSync(file).size > 1024 * 1024, 'several chunks');
    const seqs: number[] = [];
    for await (const { record } of readEvents({ dir })) {
      if (seqs.length === 1) gzipWhole(file);
      seqs.push(record.seq);
    }
    assert.equal(fs.existsSync(file), false);
    assert.deepEqual(
      seqs,
      Array.from({ length: 4000 }, (_, i) => i + 1),
    );
  });
});

/** Runs bin/events with at most `limit` open files (as on a system with a low `ulimit -n`). */
function runLimited(args: string[], limit = 256): Promise<CliResult> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `ulimit -n ${limit} && exec ${quoted}`], {
      env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * A job as `streams` processes write it: one stream each, of `perStream` progress events (with a step of
 * `stepBytes` random characters). The first stream is written by the library; the others are derived
 * from it line by line, each with its own stream name, id and chain (format.md sections 2 and 5), which
 * is much faster than opening a writer per stream.
 */
async function manyStreams(dir: string, streams: number, perStream: number, stepBytes = 8): Promise<string> {
  const log = await EventLog.open({ dir, jobId: 'm', stream: 's0', durability: 'write', compress: false });
  for (let n = 0; n < perStream; n++) {
    const step = crypto.randomBytes(stepBytes).toString('base64').slice(0, stepBytes);
    await log.append({ ...progressEvent(n), data: { item_id: `item-${n}`, step, progress_pct: 50 } });
  }
  await log.close();
  const jobDir = path.join(dir, 'm');
  const [template] = segmentFiles(jobDir) as [string];
  const logId = logIdOf(jobDir);
  for (let i = 1; i < streams; i++) {
    const stream = `s${i}`;
    let prev = genesisHash(logId, stream);
    const lines = rawLines(template).map((text) => {
      const line = JSON.stringify({ ...(JSON.parse(text) as object), stream, id: crypto.randomUUID(), prev });
      prev = hashLine(line);
      return line + '\n';
    });
    fs.writeFileSync(template.replace('-s0-', `-${stream}-`), lines.join(''));
  }
  return jobDir;
}

describe('reading a job of more streams than the open-file limit', () => {
  const STREAMS = 1200;

  /** Every command that reads a whole job, under ulimit -n 256; `some` for query and stats only. */
  async function checkCommands(dir: string, events: number, some = false): Promise<void> {
    const query = await runLimited(['query', '--dir', dir, '--json']);
    assert.equal(query.code, 0, query.stderr);
    assert.equal(query.stdout.trim().split('\n').length, events);
    const stats = await runLimited(['stats', '--dir', dir, '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal((JSON.parse(stats.stdout) as { total: { events: number } }).total.events, events);
    if (some) return;
    const jobs = await runLimited(['jobs', '--dir', dir, '--json']);
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.equal((JSON.parse(jobs.stdout) as { events: number }[])[0]?.events, events);
    const csv = await runLimited(['export', '--dir', dir, '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout.trim().split('\r\n').length, events + 1);
    const replay = await runLimited(['replay', '--dir', dir, '--job', 'm']);
    assert.equal(replay.code, 0, replay.stderr);
    const tail = await runLimited(['tail', '--dir', dir, '-n', '3', '--json']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout.trim().split('\n').length, 3);
  }

  it(`query, jobs, stats, export, replay and tail read ${STREAMS} plain streams under ulimit -n 256`, async () => {
    const dir = tempDir();
    await manyStreams(dir, STREAMS, 3);
    await checkCommands(dir, STREAMS * 3);
  });

  it('query and stats read 300 streams of compressed segments, each larger than a read, likewise', async () => {
    const dir = tempDir();
    // About 250 KiB of gzip each: more than is read ahead of a suspended reader.
    const jobDir = await manyStreams(dir, 300, 3, 110 * 1024);
    // One gzip member per line, no index: each is decompressed as one stream (format.md section 9).
    for (const file of segmentFiles(jobDir)) {
      const members = rawLines(file).map((line) => zlib.gzipSync(line + '\n', { level: 1 }));
      fs.writeFileSync(`${file}.gz`, Buffer.concat(members));
      fs.rmSync(file);
      fs.rmSync(file.replace(/\.jsonl$/, '.idx'), { force: true });
    }
    await checkCommands(dir, 300 * 3, true);
  });
});
