import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { DataError, EventLog, readEvents } from '../src/index.js';
import { compressOffThread, OFF_THREAD_BYTES } from '../src/storage/compress-off-thread.js';
import {
  checkChain,
  logIdOf,
  progressEvent,
  ROOT,
  runCli,
  runNode,
  segmentFiles,
  tempDir,
} from './helpers.js';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);
const APPENDER = path.join(ROOT, 'test', 'children', 'appender.mjs');

/** Every event readEvents returns, as `stream:seq`, failing on a duplicate. */
async function readAll(dir: string, job: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for await (const { record } of readEvents({ dir, jobs: [job] })) {
    const key = `${record.stream}:${record.seq}`;
    assert.ok(!seen.has(key), `${key} read twice`);
    seen.add(key);
  }
  return seen;
}

function acked(stdout: string): { stream: string; seqs: number[] } {
  const stream = /^stream (\S+)$/m.exec(stdout)?.[1] as string;
  const seqs = [...stdout.matchAll(/^ack (\d+) /gm)].map((m) => Number(m[1]));
  return { stream, seqs };
}

describe('rotation and compression', () => {
  it('several writers rotating at once: every event readable once, chains whole, every .gz valid', async () => {
    const dir = tempDir();
    const writers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        EventLog.open({ dir, jobId: 'many', stream: `w${i}`, rotateBytes: 8192, indexBlockBytes: 2048 }),
      ),
    );
    await Promise.all(
      writers.map(async (log, w) => {
        for (let i = 0; i < 200; i++) await log.append(progressEvent(i, `agent-${w}`));
      }),
    );
    await Promise.all(writers.map((log) => log.close()));
    const jobDir = path.join(dir, 'many');
    assert.equal((await readAll(dir, 'many')).size, 1200);
    for (let w = 0; w < 6; w++) {
      const files = segmentFiles(jobDir).filter((f) => f.includes(`-w${w}-`));
      assert.ok(files.filter((f) => f.endsWith('.gz')).length >= 3, `stream w${w} has compressed segments`);
      assert.equal(checkChain(files, logIdOf(jobDir), `w${w}`).length, 200);
    }
    for (const gz of fs.readdirSync(jobDir).filter((f) => f.endsWith('.gz'))) {
      // zcat reads the whole multi-member file: one member per index block.
      const bytes = fs.readFileSync(path.join(jobDir, gz));
      let members = 0;
      for (let i = bytes.indexOf(GZIP_MAGIC); i !== -1; i = bytes.indexOf(GZIP_MAGIC, i + 1)) members++;
      assert.ok(members >= 2, `${gz} has ${members} gzip members`);
      const plain = zlib.gunzipSync(fs.readFileSync(path.join(jobDir, gz)));
      // The tools people have: gzip -t accepts it, zcat reads every member.
      assert.equal(spawnSync('gzip', ['-t', path.join(jobDir, gz)]).status, 0, `gzip -t ${gz}`);
      assert.ok(spawnSync('zcat', [path.join(jobDir, gz)]).stdout.equals(plain), `zcat ${gz} reads it whole`);
    }
    const check = await runCli(['index', '--dir', dir, '--check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  for (const step of ['written', 'verified', 'indexed', 'renamed']) {
    it(`a crash during compression (after it is ${step}) loses nothing, and events rotate finishes the job`, async () => {
      const dir = tempDir();
      const run = await runNode([APPENDER, dir, 'crashy', 'fsync', '3000', '4'], {
        env: { APPENDER_ROTATE_BYTES: '16384', MMM_EVENTS_CRASH_AT: `compress:${step}` },
      });
      assert.equal(run.signal, 'SIGKILL', `the writer was killed at compress:${step}`);
      const { stream, seqs } = acked(run.stdout);
      assert.ok(seqs.length > 50, `${seqs.length} events acknowledged before the crash`);
      const expectOnce = async () => {
        const read = await readAll(dir, 'crashy');
        for (const seq of seqs)
          assert.ok(read.has(`${stream}:${seq}`), `acknowledged ${stream}:${seq} is readable`);
      };
      await expectOnce();

      const rotate = await runCli(['rotate', '--dir', dir, '--json']);
      assert.equal(rotate.code, 0, rotate.stderr);
      const jobDir = path.join(dir, 'crashy');
      const names = fs.readdirSync(jobDir);
      assert.deepEqual(
        names.filter((n) => n.includes('.tmp-')),
        [],
        'no temp file left',
      );
      assert.deepEqual(
        names.filter((n) => n.endsWith('.jsonl')),
        [],
        'every segment of the dead writer sealed and compressed',
      );
      await expectOnce();
      assert.equal((await runCli(['index', '--dir', dir, '--check'])).code, 0);

      // A new writer continues the stream after the sealed segments.
      const lastSeq = Math.max(...[...(await readAll(dir, 'crashy'))].map((k) => Number(k.split(':')[1])));
      const log = await EventLog.open({ dir, jobId: 'crashy', stream });
      const next = await log.append(progressEvent(1));
      await log.close();
      assert.equal(next.seq, lastSeq + 1);
      checkChain(segmentFiles(jobDir), logIdOf(jobDir), stream);
    });
  }

  it("rotate leaves a live writer its active segment, quarantines a dead one's torn tail, and is idempotent", async () => {
    const dir = tempDir();
    const live = await EventLog.open({
      dir,
      jobId: 'mixed',
      stream: 'live',
      rotateBytes: 4096,
      compress: false,
    });
    for (let i = 0; i < 60; i++) await live.append(progressEvent(i));
    const dead = await runNode([APPENDER, dir, 'mixed', 'fsync', '40', '1', 'exit']);
    assert.equal(dead.code, 0);
    const jobDir = path.join(dir, 'mixed');
    const deadFile = segmentFiles(jobDir).find((f) => f.includes(`-${acked(dead.stdout).stream}-`)) as string;
    fs.appendFileSync(deadFile, '{"seq":41,"ts":"2026-');
    const rotate = await runCli(['rotate', '--dir', dir, '--json']);
    assert.equal(rotate.code, 0, rotate.stderr);
    const actions = rotate.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; action: string });
    assert.ok(
      actions.some((a) => a.action === 'quarantined'),
      'the torn tail went to quarantine',
    );
    assert.ok(actions.some((a) => a.action === 'skipped-live' && a.file.includes('-live-')));
    assert.ok(actions.filter((a) => a.action === 'compressed').length >= 2);
    const active = segmentFiles(jobDir)
      .filter((f) => f.includes('-live-'))
      .at(-1) as string;
    assert.ok(active.endsWith('.jsonl'), 'the live writer keeps appending to its plain active segment');
    const again = await runCli(['rotate', '--dir', dir]);
    assert.equal(again.stdout, 'nothing to rotate\n');
    await live.append(progressEvent(99));
    await live.close();
    assert.equal((await readAll(dir, 'mixed')).size, 61 + 40);
  });

  it('a segment of 8 MiB or more is compressed on a thread of its own, with the same checks and errors', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'big', rotateBytes: OFF_THREAD_BYTES + 4096 });
    const total = Math.ceil((OFF_THREAD_BYTES + 8192) / 150);
    for (let at = 0; at < total; at += 2000) {
      const count = Math.min(2000, total - at);
      const outcomes = await log.appendMany(Array.from({ length: count }, (_, k) => progressEvent(at + k)));
      assert.ok(outcomes.every((o) => !(o instanceof Error)));
    }
    await log.close();
    const jobDir = path.join(dir, 'big');
    const files = segmentFiles(jobDir);
    assert.ok((files[0] as string).endsWith('.jsonl.gz'), `${files.join()}: the first segment compressed`);
    assert.ok(fs.statSync(files[0] as string).size < OFF_THREAD_BYTES / 3);
    assert.equal((await readAll(dir, 'big')).size, total);
    const check = await runCli(['index', '--dir', dir, '--check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);

    // A copy whose seal the bytes no longer match: the thread's DataError reaches the caller, the
    // plain segment stays, and no temporary file is left.
    const plain = path.join(dir, 'copy.jsonl');
    fs.writeFileSync(plain, zlib.gunzipSync(fs.readFileSync(files[0] as string)));
    fs.copyFileSync(path.join(jobDir, 'LOG.json'), path.join(dir, 'LOG.json'));
    fs.copyFileSync((files[0] as string).replace(/\.jsonl\.gz$/, '.idx'), path.join(dir, 'copy.idx'));
    const bytes = fs.readFileSync(plain);
    bytes[100] = bytes[100] === 0x61 ? 0x62 : 0x61;
    fs.writeFileSync(plain, bytes);
    await assert.rejects(compressOffThread(plain), (err: Error) => {
      assert.ok(err instanceof DataError, `${err.name}: ${err.message}`);
      assert.match(err.message, /copy\.jsonl\.gz does not match its seal; the plain segment was kept/);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['LOG.json', 'big', 'copy.idx', 'copy.jsonl']);
  });
});
