/**
 * Issue 10: prune, rotate and archive never lose or duplicate an acknowledged event, whatever a writer,
 * a kill or a hostile name does meanwhile. Each case failed on the code before its fix.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { drain } from '../src/cli/io.js';
import { EventLog, readEvents } from '../src/index.js';
import { prune } from '../src/maintenance/prune.js';
import { BIN, logIdOf, progressEvent, runCli, segmentFiles, tempDir } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const completed = {
  event_type: 'job_completed',
  data: { duration_ms: 1, success_count: 1, failure_count: 0 },
} as const;

/** A job of `events` progress events, finished unless `end` is false; returns the acknowledged ids. */
async function writeJob(dir: string, job: string, events: number, options: { end?: boolean } = {}) {
  const log = await EventLog.open({ dir, jobId: job, rotateBytes: 4096 });
  const ids: string[] = [];
  ids.push((await log.append({ event_type: 'job_started', data: { config: {}, total_items: events } })).id);
  for (let i = 0; i < events; i++) ids.push((await log.append(progressEvent(i))).id);
  if (options.end !== false) ids.push((await log.append(completed)).id);
  await log.close();
  return ids;
}

/** The ids of every event in an events directory (every job, archived reused ids included). */
async function idsIn(dir: string): Promise<string[]> {
  if (!fs.existsSync(dir)) return [];
  const ids: string[] = [];
  for await (const { record } of readEvents({ dir })) ids.push(record.id);
  return ids;
}

function assertOnce(found: string[], acknowledged: string[]) {
  const counts = new Map<string, number>();
  for (const id of found) counts.set(id, (counts.get(id) ?? 0) + 1);
  const lost = acknowledged.filter((id) => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual({ lost: lost.length, twice: twice.length }, { lost: 0, twice: 0 });
}

/** A directory on another filesystem than the temp dir: /dev/shm (a tmpfs), so moves there copy. */
function otherFilesystem(): string {
  const shm = '/dev/shm';
  assert.ok(
    fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev,
    'these tests need /dev/shm as a filesystem of its own (a tmpfs, as on Debian)',
  );
  return fs.mkdtempSync(path.join(shm, 'mmm-archive-'));
}

describe('rotation, compression and temporary names', () => {
  it('a job that ends just as its segment rotates closes without an error (nothing empty is compressed)', async () => {
    const dir = tempDir();
    const errors: string[] = [];
    const log = await EventLog.open({
      dir,
      jobId: 'j',
      rotateBytes: 1,
      onError: (e) => errors.push(e.message),
    });
    for (let i = 0; i < 5; i++) await log.append(progressEvent(i));
    await log.append(completed); // every batch fills a segment: it rotates after this one too
    await log.close();
    assert.deepEqual(errors, []);
    const files = fs.readdirSync(path.join(dir, 'j'));
    assert.ok(!files.some((f) => f.startsWith('.tmp-')), files.join(' '));
    const verify = await runCli(['verify', '--dir', dir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('a stream whose id contains ".tmp-<digits>-" is a stream, not a dead temp file', async () => {
    const dir = tempDir();
    const streams = ['etl.tmp-2024-nightly', 'x.tmp-1-2-abc', 'y.tmp-99999999-0'];
    const ids: string[] = [];
    for (const stream of streams) {
      const log = await EventLog.open({ dir, jobId: 'j', stream });
      for (let i = 0; i < 5; i++) ids.push((await log.append(progressEvent(i))).id);
      await log.close();
    }
    // A real temp file of a dead process is still cleaned up.
    const deadTemp = path.join(dir, 'j', '.tmp-4194999-abc-events-main-00000000000000000001.jsonl.gz');
    fs.writeFileSync(deadTemp, 'partial');
    const run = await runCli(['rotate', '--dir', dir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!fs.existsSync(deadTemp), 'the dead temp file is removed');
    for (const stream of streams) {
      assert.ok(
        segmentFiles(path.join(dir, 'j')).some((f) => path.basename(f).startsWith(`events-${stream}-`)),
        `stream ${stream} keeps its segments`,
      );
    }
    assertOnce(await idsIn(dir), ids);
    const verify = await runCli(['verify', '--dir', dir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});

describe('prune and writers', () => {
  it('a job reopened between planning and removal is not removed (open and holding)', async () => {
    const dir = tempDir();
    const acked = await writeJob(dir, 'resumed', 20);
    await sleep(1100);
    let writer: EventLog | undefined;
    const result = await prune(
      dir,
      { olderThanMs: 1000 },
      {
        onPlanned: async (items) => {
          assert.ok(
            items.some((i) => i.job === 'resumed' && i.kind === 'job'),
            'planned whole',
          );
          writer = await EventLog.open({ dir, jobId: 'resumed' });
          for (let i = 0; i < 10; i++) acked.push((await writer.append(progressEvent(i))).id);
        },
      },
    );
    assert.equal(result.items.filter((i) => i.kind === 'job').length, 0);
    assert.match(result.skipped[0]?.why ?? '', /writer/);
    for (let i = 0; i < 5; i++) acked.push((await (writer as EventLog).append(progressEvent(i))).id);
    await (writer as EventLog).close();
    assertOnce(await idsIn(dir), acked);
  });

  it('a job reopened, appended to and closed between planning and removal is not removed', async () => {
    const dir = tempDir();
    const acked = await writeJob(dir, 'resumed', 20);
    await sleep(1100);
    const result = await prune(
      dir,
      { olderThanMs: 1000 },
      {
        onPlanned: async () => {
          const writer = await EventLog.open({ dir, jobId: 'resumed' });
          for (let i = 0; i < 10; i++) acked.push((await writer.append(progressEvent(i))).id);
          await writer.close();
        },
      },
    );
    assert.deepEqual(result.items, []);
    assert.match(result.skipped[0]?.why ?? '', /changed/);
    assertOnce(await idsIn(dir), acked);
    // The audit trail says nothing was removed.
    const auditDir = path.join(dir, 'global');
    const audit = fs.existsSync(auditDir)
      ? fs.readdirSync(auditDir).filter((f) => f.startsWith('audit-'))
      : [];
    assert.deepEqual(audit, []);
  });

  it('a writer opening a job while prune removes it gets a new log: nothing it acknowledges is lost', async () => {
    const dir = tempDir();
    const archive = path.join(tempDir(), 'archive');
    const acked: string[] = [];
    for (let round = 0; round < 6; round++) {
      acked.push(...(await writeJob(dir, 'nightly', 5)));
      await sleep(50);
      // A prune of everything older than 0 ms races a writer reopening the job.
      const pruning = prune(dir, { olderThanMs: 1, archive });
      const reopened = (async () => {
        const log = await EventLog.open({ dir, jobId: 'nightly' });
        for (let i = 0; i < 5; i++) acked.push((await log.append(progressEvent(i))).id);
        acked.push((await log.append(completed)).id);
        await log.close();
      })();
      await Promise.all([pruning, reopened]);
    }
    await prune(dir, { olderThanMs: 1, archive });
    assertOnce([...(await idsIn(dir)), ...(await idsIn(archive))], acked);
    for (const d of [dir, archive]) {
      if (!fs.existsSync(d)) continue;
      const verify = await runCli(['verify', '--dir', d]);
      assert.equal(verify.code, 0, `${d}: ${verify.stdout}${verify.stderr}`);
    }
  });
});

describe('prune --archive', () => {
  it('a reused job id keeps both runs in the archive, and the archive verifies', async () => {
    const dir = tempDir();
    const archive = path.join(tempDir(), 'archive');
    const first = await writeJob(dir, 'nightly', 30);
    const firstLog = logIdOf(path.join(dir, 'nightly'));
    await sleep(1100);
    assert.equal((await runCli(['prune', '--dir', dir, '--older-than', '1s', '--archive', archive])).code, 0);
    const second = await writeJob(dir, 'nightly', 30);
    const secondLog = logIdOf(path.join(dir, 'nightly'));
    assert.notEqual(firstLog, secondLog);
    await sleep(1100);
    const run = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--archive', archive]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(fs.readdirSync(archive).sort(), ['nightly', `nightly@${secondLog}`]);
    assert.equal(logIdOf(path.join(archive, 'nightly')), firstLog);
    assertOnce(await idsIn(archive), [...first, ...second]);
    const verify = await runCli(['verify', '--dir', archive]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const jobs = await runCli(['jobs', '--dir', archive, '--json']);
    assert.equal(jobs.code, 0, jobs.stderr);
    const query = await runCli(['query', '--dir', archive, '--job', `nightly@${secondLog}`, '--json']);
    assert.equal(query.stdout.trim().split('\n').length, second.length);
  });

  for (const point of ['archive:copied', 'archive:placed', 'prune:aside', 'prune:started']) {
    it(`to another filesystem, killed at ${point}: the next prune finishes it, nothing lost or doubled`, async () => {
      const dir = tempDir();
      const archive = path.join(otherFilesystem(), 'archive');
      try {
        // 'done' goes whole; 'running' never ended, so only its old sealed segments go.
        const acked = [
          ...(await writeJob(dir, 'done', 200)),
          ...(await writeJob(dir, 'running', 200, { end: false })),
        ];
        await sleep(1100);
        const killed = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--archive', archive], {
          env: { MMM_EVENTS_CRASH_AT: point },
        });
        assert.equal(killed.signal, 'SIGKILL', `killed at ${point}: ${killed.stderr}`);
        const rerun = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--archive', archive]);
        assert.equal(rerun.code, 0, rerun.stderr);
        assertOnce([...(await idsIn(dir)), ...(await idsIn(archive))], acked);
        for (const d of [dir, archive]) {
          const verify = await runCli(['verify', '--dir', d]);
          assert.equal(verify.code, 0, `${d}: ${verify.stdout}${verify.stderr}`);
        }
        const leftovers = fs
          .readdirSync(dir, { recursive: true })
          .map(String)
          .filter((f) => /(^|\/)\.(tmp|pruning)-/.test(f));
        assert.deepEqual(leftovers, []);
      } finally {
        fs.rmSync(path.dirname(archive), { recursive: true, force: true });
      }
    });
  }

  for (const [name, target] of [
    ['the events directory itself (DIR/.)', (dir: string) => path.join(dir, '.')],
    ['a directory inside it', (dir: string) => path.join(dir, 'archive')],
    [
      'a symbolic link to it',
      (dir: string) => {
        const link = path.join(tempDir(), 'link');
        fs.symlinkSync(dir, link);
        return link;
      },
    ],
    ['a directory that contains it', (dir: string) => path.dirname(dir)],
  ] as const) {
    it(`refuses an archive that is ${name}, before anything moves`, async () => {
      const dir = path.join(tempDir(), 'events');
      const acked = await writeJob(dir, 'old', 10);
      await sleep(1100);
      const before = fs.readdirSync(path.join(dir, 'old')).sort();
      const run = await runCli(['prune', '--dir', dir, '--older-than', '1s', '--archive', target(dir)]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /^events: --archive .* the events directory/);
      assert.equal(run.stderr.trim().split('\n').length, 1);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'old')).sort(), before);
      assertOnce(await idsIn(dir), acked);
    });
  }
});

describe('names the log uses for itself', () => {
  for (const job of ['global', 'Global', 'GLOBAL']) {
    it(`job id ${job} is refused by the writer and the CLI (exit 2)`, async () => {
      const dir = tempDir();
      await assert.rejects(EventLog.open({ dir, jobId: job }), /the log uses that name itself/);
      // A directory that holds a log (an empty one is exit 3 before the job id is looked at).
      await writeJob(dir, 'other', 1);
      const run = await runCli(['query', '--dir', dir, '--job', job]);
      assert.equal(run.code, 2, run.stderr);
    });
  }

  it('a directory "global" that looks like a job is never read or pruned as one', async () => {
    const dir = tempDir();
    await writeJob(dir, 'impostor', 5);
    await writeJob(dir, 'old', 5);
    // As an older version could have let a writer make it: a job named global, finished and old.
    fs.mkdirSync(path.join(dir, 'global'));
    for (const name of fs.readdirSync(path.join(dir, 'impostor')))
      fs.renameSync(path.join(dir, 'impostor', name), path.join(dir, 'global', name));
    fs.rmdirSync(path.join(dir, 'impostor'));
    const manifestFile = path.join(dir, 'global', 'LOG.json');
    fs.writeFileSync(manifestFile, fs.readFileSync(manifestFile, 'utf8').replace('"impostor"', '"global"'));
    await sleep(1100);
    for (let run = 0; run < 2; run++) {
      const pruned = await runCli(['prune', '--dir', dir, '--older-than', '1s']);
      assert.equal(pruned.code, 0, pruned.stderr);
    }
    const audit = fs.readdirSync(path.join(dir, 'global')).filter((f) => f.startsWith('audit-'));
    assert.equal(audit.length, 1, 'the audit trail is kept');
    assert.ok(!fs.existsSync(path.join(dir, 'old')), 'the real job was pruned');
    const jobs = await runCli(['jobs', '--dir', dir, '--json']);
    assert.doesNotMatch(jobs.stdout, /"global"/);
  });
});

describe('query --cursor-file under overlap', () => {
  it('a second run while one holds the cursor file exits 6 and prints nothing', async () => {
    const dir = tempDir();
    await writeJob(dir, 'j', 5);
    const cursorFile = path.join(tempDir(), 'cursor');
    fs.writeFileSync(
      `${cursorFile}.lock`,
      JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }),
    );
    const busy = await runCli(['query', '--dir', dir, '--cursor-file', cursorFile, '--json']);
    assert.equal(busy.code, 6, busy.stderr);
    assert.equal(busy.stdout, '');
    assert.match(busy.stderr, /--cursor-file .* is locked by pid/);
    fs.rmSync(`${cursorFile}.lock`);
    const run = await runCli(['query', '--dir', dir, '--cursor-file', cursorFile, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 7);
  });

  it('overlapping runs print every event exactly once between them', async () => {
    const dir = tempDir();
    const acked: string[] = [];
    const log = await EventLog.open({ dir, jobId: 'j', durability: 'write' });
    const cursorFile = path.join(tempDir(), 'cursor');
    const printed: string[] = [];
    const codes: number[] = [];
    const runOnce = () =>
      new Promise<void>((resolve) => {
        const child = spawn(
          process.execPath,
          [BIN, 'query', '--dir', dir, '--cursor-file', cursorFile, '--json'],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => {
          codes.push(code ?? -1);
          for (const line of out.split('\n').filter(Boolean))
            printed.push((JSON.parse(line) as { id: string }).id);
          resolve();
        });
      });
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 500; i++) acked.push((await log.append(progressEvent(i))).id);
      await Promise.all([runOnce(), runOnce(), runOnce()]);
    }
    await log.close();
    await runOnce();
    assert.ok(
      codes.every((c) => c === 0 || c === 6),
      `exit codes ${codes.join(',')}`,
    );
    assertOnce(printed, acked);
  });

  it('waiting for output a full pipe still holds settles when it is written (exit 13 before)', async () => {
    // A pipe that takes each write a moment later. A write under the high-water mark returns true, so
    // no 'drain' follows: drain() waited for one, and once the write was done nothing kept the process
    // alive; `events query --cursor-file` exited 13 instead of 0.
    const stdout = new Writable({ write: (_chunk, _encoding, done) => setImmediate(done) });
    assert.equal(stdout.write('{"id":"last"}\n'), true);
    assert.ok(stdout.writableLength > 0);
    await drain(stdout);
    assert.equal(stdout.writableLength, 0);
  });
});

describe('files that are not regular files', () => {
  const fifo = (file: string) => {
    fs.rmSync(file, { force: true, recursive: true });
    execFileSync('mkfifo', [file]);
  };
  for (const [what, place] of [
    ['an .idx', (jobDir: string) => segmentFiles(jobDir)[0]?.replace(/\.jsonl(\.gz)?$/, '.idx') ?? ''],
    ['LOG.json', (jobDir: string) => path.join(jobDir, 'LOG.json')],
    ['a lock file', (jobDir: string) => path.join(jobDir, 'main.lock')],
    ['index.json', (jobDir: string) => path.join(jobDir, 'index.json')],
    ['prune.json', (jobDir: string) => path.join(path.dirname(jobDir), 'prune.json')],
    ['the prune lock', (jobDir: string) => path.join(path.dirname(jobDir), 'global', 'prune.lock')],
  ] as const) {
    it(`a named pipe in place of ${what} never blocks a command; it is named when it matters`, async () => {
      const dir = tempDir();
      await writeJob(dir, 'j', 50);
      const jobDir = path.join(dir, 'j');
      fs.mkdirSync(path.join(dir, 'global'), { recursive: true });
      const file = place(jobDir);
      fifo(file);
      const commands = [
        ['query', '--json'],
        ['jobs'],
        ['verify'],
        ['stats'],
        ['prune', '--older-than', '30d'],
        ['rotate'],
      ];
      // At once: each is killed if it blocks, so a hang costs one timeout, not six.
      const runs = await Promise.all(
        commands.map((args) => runCli([...args, '--dir', dir], { timeout: 20_000, killSignal: 'SIGKILL' })),
      );
      for (const [i, run] of runs.entries()) {
        const args = commands[i] as string[];
        assert.notEqual(run.signal, 'SIGKILL', `${args.join(' ')} hung on the pipe`);
        assert.ok([0, 4, 6].includes(run.code ?? -1), `${args.join(' ')}: exit ${run.code} ${run.stderr}`);
        if (run.code === 4) assert.ok((run.stdout + run.stderr).includes(path.basename(file)), run.stderr);
        assert.doesNotMatch(run.stderr, /internal error/);
      }
      const opening = EventLog.open({ dir, jobId: 'j', stream: 'main' }).then((log) => log.close());
      const outcome = await Promise.race([
        opening.then(
          () => 'opened',
          (e: Error) => e.message,
        ),
        sleep(10_000).then(() => 'hung'),
      ]);
      assert.notEqual(outcome, 'hung');
    });
  }
});
