import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { LiveCli, runCli, tempDir, type CliResult } from './helpers.js';

/**
 * Issue 11: damage is said, not hidden. Every reading command, run through `bin/events` on a log with
 * a corrupt line and on one with a truncated `.gz`, prints the good events on stdout, says on stderr
 * what it skipped (naming the job and `events verify --job J`) and exits 0; `replay --check` and
 * `verify` fail (exit 4, docs/exit-codes.md).
 */

const ITEMS = 30;

/** A finished job: job_started, each item started then completed (every 4th failed), job_completed. */
async function writeJob(dir: string, job: string, options: { compress?: boolean; rotateBytes?: number }) {
  const log = await EventLog.open({ dir, jobId: job, ...options });
  const c = { correlation_id: `corr-${job}` };
  await log.append({ ...c, event_type: 'job_started', data: { config: {}, total_items: ITEMS } });
  for (let i = 0; i < ITEMS; i++) {
    const agent_id = `agent-${i % 3}`;
    const item_id = `item-${i}`;
    await log.append({
      ...c,
      event_type: 'agent_started',
      agent_id,
      data: { item_id, worktree: 'w', attempt: 1 },
    });
    await log.append(
      i % 4 === 0
        ? {
            ...c,
            event_type: 'agent_failed',
            agent_id,
            data: { item_id, error: 'exit status 1', retry_eligible: false },
          }
        : { ...c, event_type: 'agent_completed', agent_id, data: { item_id, duration_ms: 5, commits: [] } },
    );
  }
  await log.append({
    ...c,
    event_type: 'job_completed',
    data: {
      duration_ms: 100,
      success_count: ITEMS - Math.ceil(ITEMS / 4),
      failure_count: Math.ceil(ITEMS / 4),
    },
  });
  await log.close();
}
const TOTAL = 2 + 2 * ITEMS;

interface Damaged {
  dir: string;
  job: string;
  /** Seqs that are not in the damaged part: every command that prints events prints each of them. */
  good: number[];
  /** A seq that cannot be read (show must say why it does not find it), or undefined. */
  lost?: number;
  /** The warning naming the job and what was skipped. */
  warning: RegExp;
  /** The corrupt lines skipped and the segments that could not be read whole, as `jobs --json` says. */
  skipped: [corrupt: number, damaged: number];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const seqsOf = (jsonl: string) =>
  jsonl
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A plain segment with a garbage line inserted after its 10th line. Its index, whose offsets the
 * insertion made wrong, is removed: readers scan the segment (show included) and meet the line.
 */
async function corruptLog(dir: string): Promise<Damaged> {
  await writeJob(dir, 'J', { compress: false });
  const jobDir = path.join(dir, 'J');
  const segment = fs.readdirSync(jobDir).find((f) => f.endsWith('.jsonl')) as string;
  const lines = fs.readFileSync(path.join(jobDir, segment), 'utf8').split('\n');
  lines.splice(10, 0, '{"seq": garbage');
  fs.writeFileSync(path.join(jobDir, segment), lines.join('\n'));
  fs.rmSync(path.join(jobDir, segment.replace(/\.jsonl$/, '.idx')));
  return {
    dir,
    job: 'J',
    good: range(1, TOTAL),
    warning: /^warning: skipped 1 corrupt line in J \(run 'events verify --job J'\)$/m,
    skipped: [1, 0],
  };
}

/** Segments rotated every 2 KiB and compressed at close; a middle `.gz` cut to half its size. */
async function truncatedGzLog(dir: string): Promise<Damaged> {
  await writeJob(dir, 'G', { rotateBytes: 2048 });
  const jobDir = path.join(dir, 'G');
  const segments = fs
    .readdirSync(jobDir)
    .filter((f) => /\.jsonl(\.gz)?$/.test(f))
    .sort();
  const baseSeq = (f: string) => Number(/-(\d{20})\.jsonl/.exec(f)?.[1]);
  const gz = segments[2] as string;
  assert.ok(gz.endsWith('.jsonl.gz') && segments.length > 4, `compressed segments: ${segments.join(', ')}`);
  const [from, next] = [baseSeq(gz), baseSeq(segments[3] as string)];
  fs.truncateSync(path.join(jobDir, gz), Math.floor(fs.statSync(path.join(jobDir, gz)).size / 2));
  return {
    dir,
    job: 'G',
    good: range(1, TOTAL).filter((seq) => seq < from || seq >= next),
    lost: next - 1,
    warning: new RegExp(
      `^warning: could not read all of G/${escapeRegExp(gz)}: .+ \\(run 'events verify --job G'\\)$`,
      'm',
    ),
    skipped: [0, 1],
  };
}

/** Exit 0, every good event printed, the warning on stderr and nothing of it on stdout. */
function assertWarned(run: CliResult, log: Damaged, printed?: number[]): void {
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, log.warning);
  assert.doesNotMatch(run.stdout, /warning/);
  if (printed !== undefined) {
    const missing = log.good.filter((seq) => !printed.includes(seq));
    assert.deepEqual(missing, [], 'every event outside the damage is printed');
  }
}

const LOGS = [
  ['a corrupt line', corruptLog],
  ['a truncated .gz', truncatedGzLog],
] as const;

for (const [damage, make] of LOGS) {
  // The tests of a log run four at a time: only those of `jobs` write (its cache), so they are one test.
  describe(`on a log with ${damage}, each reading command says what it skipped`, { concurrency: 4 }, () => {
    let log: Damaged;
    // Made here, not in the hook: tempDir removes it when this suite ends.
    const dir = tempDir();
    before(async () => {
      log = await make(dir);
    });
    const events = (...args: string[]) => runCli([...args, '--dir', log.dir]);

    it('query, and query --last', async () => {
      const [all, last] = await Promise.all([
        events('query', '--job', log.job, '--json'),
        events('query', '--job', log.job, '--last', '1000', '--json'),
      ]);
      assertWarned(all, log, seqsOf(all.stdout));
      assertWarned(last, log, seqsOf(last.stdout));
    });

    it('tail -n', async () => {
      const run = await events('tail', '--job', log.job, '-n', '1000', '--json');
      assertWarned(run, log, seqsOf(run.stdout));
    });

    it('tail -f says it while it follows, not only when it ends, and once', async () => {
      const tail = new LiveCli(['tail', '--dir', log.dir, '--job', log.job, '-n', '1000', '-f', '--json']);
      await tail.waitForLines(1);
      const deadline = Date.now() + 15_000;
      while (!log.warning.test(tail.stderr) && Date.now() < deadline) await sleep(50);
      assert.match(tail.stderr, log.warning, 'the warning came while following');
      tail.kill('SIGINT');
      assert.deepEqual(await tail.exited, { code: 0, signal: null });
      assert.equal(tail.stderr.match(new RegExp(log.warning.source, 'gm'))?.length, 1, tail.stderr);
      const printed = seqsOf(tail.lines.join('\n'));
      assert.deepEqual(
        log.good.filter((seq) => !printed.includes(seq)),
        [],
      );
    });

    it('show', async () => {
      if (log.lost === undefined) {
        const run = await events('show', log.job, '20', '--json');
        assertWarned(run, log);
        assert.equal((JSON.parse(run.stdout) as { seq: number }).seq, 20);
      } else {
        // The event is in the part that cannot be read: not found (exit 3), and why.
        const run = await events('show', log.job, String(log.lost));
        assert.equal(run.code, 3, run.stderr);
        assert.match(run.stderr, log.warning);
        assert.match(run.stderr, new RegExp(`has no event with seq ${log.lost}`));
      }
    });

    it('trace', async () => {
      const run = await events('trace', `corr-${log.job}`, '--json');
      assertWarned(run, log, seqsOf(run.stdout));
    });

    it('export, as JSONL and CSV', async () => {
      const [jsonl, csv] = await Promise.all([
        events('export', '--job', log.job),
        events('export', '--job', log.job, '--format', 'csv'),
      ]);
      assertWarned(jsonl, log, seqsOf(jsonl.stdout));
      // The first column is the seq; the first row the header.
      const seqs = csv.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((row) => Number(row.split(',')[0]));
      assertWarned(csv, log, seqs);
    });

    it('errors and stats count what was read', async () => {
      const [all, failed, errors, stats] = await Promise.all([
        events('query', '--job', log.job, '--json'),
        events('query', '--job', log.job, '--kind', 'agent_failed', '--json'),
        events('errors', '--job', log.job, '--json'),
        events('stats', '--job', log.job, '--json'),
      ]);
      assertWarned(errors, log);
      assert.equal(
        (JSON.parse(errors.stdout) as { failures: number }).failures,
        seqsOf(failed.stdout).length,
      );
      assertWarned(stats, log);
      assert.equal(
        (JSON.parse(stats.stdout) as { total: { events: number } }).total.events,
        seqsOf(all.stdout).length,
      );
    });

    it('replay and timeline warn; replay --check fails', async () => {
      const [replay, timeline, check] = await Promise.all([
        events('replay', '--job', log.job),
        events('timeline', '--job', log.job, '--width', '40'),
        events('replay', '--job', log.job, '--check'),
      ]);
      assertWarned(replay, log);
      assertWarned(timeline, log);
      assert.equal(check.code, 4, check.stderr);
      assert.match(check.stderr, log.warning);
    });

    it('jobs warns each time, also from its summary cache, and rewrites a cache without the damage', async () => {
      const summary = path.join(log.dir, log.job, 'index.json');
      fs.rmSync(summary, { force: true });
      const first = await events('jobs');
      assertWarned(first, log);
      assert.match(first.stdout, new RegExp(`^│ ${log.job} `, 'm'));
      const cached = fs.readFileSync(summary, 'utf8');
      const second = await events('jobs');
      assertWarned(second, log);
      assert.equal(fs.readFileSync(summary, 'utf8'), cached, 'the second run used the cache');

      const json = await events('jobs', '--json');
      assertWarned(json, log);
      const [row] = JSON.parse(json.stdout) as { job: string; corrupt: number; damaged: string[] }[];
      assert.deepEqual([row?.job, row?.corrupt, row?.damaged.length], [log.job, ...log.skipped]);

      // As an older `events jobs` wrote it, the corrupt count only: stale, read again and rewritten.
      const old = JSON.parse(cached) as { summary: Record<string, unknown> };
      delete old.summary.damaged;
      delete old.summary.indexProblems;
      fs.writeFileSync(summary, JSON.stringify(old) + '\n');
      assertWarned(await events('jobs'), log);
      assert.equal(fs.readFileSync(summary, 'utf8'), cached);
    });

    it('verify fails', async () => {
      const run = await events('verify', '--job', log.job);
      assert.equal(run.code, 4, run.stdout + run.stderr);
    });
  });
}

describe('tail -f on damage written while it follows', () => {
  it('says at once what it skipped, once', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'F', compress: false });
    await log.append({ event_type: 'job_started', data: { config: {}, total_items: 2 } });
    const tail = new LiveCli(['tail', '--dir', dir, '--job', 'F', '-n', '1', '-f', '--json']);
    await tail.waitForLines(1);
    // A line no writer would write, between two of the writer's (the segment is O_APPEND).
    const segment = fs.readdirSync(path.join(dir, 'F')).find((f) => f.endsWith('.jsonl')) as string;
    fs.appendFileSync(path.join(dir, 'F', segment), 'not an event\n');
    await log.append({
      event_type: 'agent_progress',
      agent_id: 'a',
      data: { item_id: 'i', step: 's', progress_pct: 1 },
    });
    await tail.waitForLines(2);
    const warning = /^warning: skipped 1 corrupt line in F \(run 'events verify --job F'\)$/m;
    const deadline = Date.now() + 15_000;
    while (!warning.test(tail.stderr) && Date.now() < deadline) await sleep(50);
    assert.match(tail.stderr, warning, 'said while following');
    await log.append({
      event_type: 'agent_progress',
      agent_id: 'a',
      data: { item_id: 'i', step: 's', progress_pct: 2 },
    });
    await tail.waitForLines(3);
    tail.kill('SIGINT');
    assert.deepEqual(await tail.exited, { code: 0, signal: null });
    assert.equal(tail.stderr.match(/corrupt/g)?.length, 1, tail.stderr);
    await log.close();
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('a job directory whose LOG.json is gone', () => {
  it('is said by every command that reads all jobs, and verify fails on it; the other job still prints', async () => {
    const dir = tempDir();
    await writeJob(dir, 'kept', {});
    await writeJob(dir, 'headless', {});
    fs.rmSync(path.join(dir, 'headless', 'LOG.json'));
    const warning =
      /^warning: skipped headless whole: its LOG\.json is missing, but it holds \d+ of a log's files .*\(run 'events verify --job headless'\)$/m;
    const commands = [
      ['query'],
      ['query', '--last', '5'],
      ['tail', '-n', '5'],
      ['errors'],
      ['stats'],
      ['export', '--format', 'jsonl'],
      ['jobs'],
      ['jobs', '--json'],
    ];
    for (const args of commands) {
      const run = await runCli([...args, '--dir', dir]);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, warning, args.join(' '));
      assert.equal(
        run.stderr.match(new RegExp(warning.source, 'gm'))?.length,
        1,
        `${args.join(' ')} says it once`,
      );
      assert.doesNotMatch(run.stdout, /headless/, `${args.join(' ')}: stdout holds only the log's output`);
      assert.match(run.stdout, /kept/, `${args.join(' ')} prints the job that is whole`);
    }
    const follow = new LiveCli(['tail', '-f', '-n', '1', '--dir', dir]);
    await follow.waitForLines(1);
    const deadline = Date.now() + 15_000;
    while (!warning.test(follow.stderr) && Date.now() < deadline) await sleep(50);
    follow.kill('SIGINT');
    await follow.exited;
    assert.equal(
      follow.stderr.match(new RegExp(warning.source, 'gm'))?.length,
      1,
      `tail -f: ${follow.stderr}`,
    );
    const verify = await runCli(['verify', '--dir', dir]);
    assert.equal(verify.code, 4);
    assert.match(verify.stdout, /FAILED headless: no-manifest/);
  });
});
