import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkChain, logIdOf, runCli, segmentFiles, tempDir } from './helpers.js';

/** What must repeat for one seed: everything but ids, timestamps and chain hashes. */
function comparable(jobDir: string): unknown[] {
  return checkChain(segmentFiles(jobDir)[0] as string, logIdOf(jobDir), 'main').map((r) => ({
    seq: r.seq,
    type: r.event_type,
    agent: r.agent_id,
    severity: r.severity,
    correlation: r.correlation_id,
    data: r.data,
  }));
}

describe('events demo', () => {
  it('runs a simulated job that writes a real log, then summarises it', async () => {
    const dir = tempDir();
    const run = await runCli(['demo', '--dir', dir, '--job', 'demo-a', '--seed', '42', '--speed', '0']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const jobDir = path.join(dir, 'demo-a');
    const records = comparable(jobDir) as { type: string; data: Record<string, number> }[];
    const types = new Set(records.map((r) => r.type));
    for (const type of [
      'job_started',
      'agent_started',
      'agent_progress',
      'agent_completed',
      'worktree_created',
      'worktree_merged',
      'worktree_cleaned',
      'checkpoint_created',
      'queue_depth_changed',
      'memory_pressure',
    ]) {
      assert.ok(types.has(type), `the demo writes ${type}`);
    }
    assert.equal(records[0]?.type, 'job_started');
    const last = records.at(-1) as { type: string; data: Record<string, number> };
    assert.ok(['job_completed', 'job_failed'].includes(last.type));
    assert.match(run.stdout, new RegExp(`^Job demo-a (completed|failed): \\d+ of 24 items succeeded`, 'm'));
    assert.match(run.stdout, new RegExp(`log: +${records.length} events`));
    assert.match(run.stdout, /chain: +intact/);
    assert.ok(run.stdout.includes(jobDir), 'it says where the log is');
    if (last.type === 'job_completed') {
      const completed = records.filter((r) => r.type === 'agent_completed').length;
      assert.equal(last.data.success_count, completed);
      assert.equal((last.data.success_count ?? 0) + (last.data.failure_count ?? 0), 24);
    }
  });

  it('writes the same events for the same seed, and different ones for another', async () => {
    const dir = tempDir();
    const args = ['--dir', dir, '--agents', '3', '--items', '10', '--fail-rate', '0.4', '--speed', '0'];
    for (const [job, seed] of [
      ['s1', '7'],
      ['s2', '7'],
      ['s3', '8'],
    ] as const) {
      const run = await runCli(['demo', ...args, '--job', job, '--seed', seed]);
      assert.equal(run.code, 0, run.stderr);
    }
    const strip = (job: string) =>
      JSON.stringify(comparable(path.join(dir, job))).replaceAll(`"${job}`, '"JOB');
    assert.equal(strip('s1'), strip('s2'));
    assert.notEqual(strip('s1'), strip('s3'));
    const failures = (comparable(path.join(dir, 's1')) as { type: string }[]).filter(
      (r) => r.type === 'agent_failed',
    );
    assert.ok(failures.length > 0, 'a 40% fail rate produces failures');
  });

  it('plays the job in real time by default, taking a few seconds', async () => {
    const dir = tempDir();
    const started = Date.now();
    const run = await runCli([
      'demo',
      '--dir',
      dir,
      '--job',
      'timed',
      '--seed',
      '1',
      '--items',
      '8',
      '--agents',
      '4',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const records = comparable(path.join(dir, 'timed'));
    // Not a speed assertion: the simulated schedule spans hundreds of milliseconds and is played, not skipped.
    assert.ok(Date.now() - started > 500, 'the schedule is played out');
    assert.ok(records.length > 20);
  });

  it('uses $MMM_EVENTS_DIR when --dir is not given, and echoes events with --echo', async () => {
    const dir = tempDir();
    const run = await runCli(
      ['demo', '--job', 'env-job', '--seed', '3', '--items', '4', '--speed', '0', '--echo'],
      {
        env: { MMM_EVENTS_DIR: dir },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(fs.existsSync(path.join(dir, 'env-job', 'LOG.json')));
    assert.match(run.stdout, /env-job - job_started info total_items=4/);
    assert.match(run.stdout, /env-job agent-\d agent_started info item=item-0001 attempt=1/);
  });

  /** `events stats --json` of one job. */
  async function jobStats(dir: string, job: string) {
    const run = await runCli(['stats', '--dir', dir, '--job', job, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return (
      JSON.parse(run.stdout) as {
        total: {
          events: number;
          byType: Record<string, number>;
          items: { succeeded: number; failed: number };
        };
      }
    ).total;
  }

  /**
   * Runs a large demo at --speed 0: its log, as read back from disk, must hold the whole job, intact,
   * every item ending once (completed, or failed and not retried). Returns the events directory.
   */
  async function runLargeDemo(items: number, extra: string[]): Promise<{ dir: string; appended: number }> {
    const dir = tempDir();
    const run = await runCli([
      'demo',
      '--dir',
      dir,
      '--job',
      'big',
      '--seed',
      '5',
      '--items',
      String(items),
      '--speed',
      '0',
      '--json',
      ...extra,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const summary = JSON.parse(run.stdout) as {
      appended: number;
      succeeded: number;
      failed: number;
      log: {
        events: number;
        corrupt: number;
        byType: Record<string, number>;
        streams: { chainBreaks: number }[];
      };
    };
    const byType = (type: string) => summary.log.byType[type] ?? 0;
    assert.equal(summary.log.events, summary.appended, 'every simulated event is in the log');
    assert.equal(summary.log.corrupt, 0);
    assert.deepEqual(
      summary.log.streams.map((s) => s.chainBreaks),
      [0],
    );
    assert.equal(byType('job_started'), 1);
    assert.equal(byType('job_completed') + byType('job_failed'), 1);
    assert.equal(byType('agent_completed'), summary.succeeded);
    assert.equal(summary.succeeded + summary.failed, items);
    assert.equal(
      byType('agent_completed') + byType('agent_failed') - byType('agent_retrying'),
      items,
      'every item ended once',
    );
    return { dir, appended: summary.appended };
  }

  it('runs 12,000 items at --speed 0 (a spread of a large array overflowed the stack)', async () => {
    const { dir, appended } = await runLargeDemo(12_000, []);
    const stats = await jobStats(dir, 'big');
    assert.equal(stats.events, appended);
    assert.equal(stats.items.succeeded + stats.items.failed, 12_000);
  });

  // 100,000 items (the documented maximum) take too long for `npm test`: this is the same path at a
  // fifth of the size, on many agents (the scheduler once sorted its whole queue at every step), and
  // with a buffered writer to keep it quick.
  it('runs 20,000 items on 64 agents at --speed 0 with a buffered writer', async () => {
    await runLargeDemo(20_000, ['--agents', '64', '--durability', 'buffered']);
  });

  it('refuses a --job that already exists, writing nothing (two runs would merge into one job)', async () => {
    const dir = tempDir();
    const first = await runCli([
      'demo',
      '--dir',
      dir,
      '--job',
      'twice',
      '--seed',
      '1',
      '--items',
      '5',
      '--speed',
      '0',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const jobDir = path.join(dir, 'twice');
    const before = await jobStats(dir, 'twice');
    const files = fs.readdirSync(jobDir).sort();
    const second = await runCli([
      'demo',
      '--dir',
      dir,
      '--job',
      'twice',
      '--seed',
      '2',
      '--items',
      '7',
      '--speed',
      '0',
    ]);
    assert.equal(second.code, 2, second.stderr);
    assert.equal(second.stdout, '');
    assert.equal(
      second.stderr,
      `events: job twice already exists in ${dir} (choose another --job or remove it)\n`,
    );
    assert.deepEqual(fs.readdirSync(jobDir).sort(), files, 'nothing was written');
    assert.deepEqual(await jobStats(dir, 'twice'), before);
    assert.deepEqual(fs.readdirSync(dir), ['twice']);
  });

  const badArgs: [string[], RegExp][] = [
    [['demo', '--agents', '0'], /--agents takes a whole number from 1 to 256, not "0"/],
    [['demo', '--fail-rate', 'lots'], /--fail-rate takes a number from 0 to 1, not "lots"/],
    [['demo', '--durability', 'maybe'], /--durability takes one of fsync, write, buffered/],
    [['demo', '--frobnicate'], /unknown option '--frobnicate'/],
    [['demo', '--job', '../escape', '--speed', '0'], /invalid job id "..\/escape"/],
    [['nosuchcommand'], /unknown command 'nosuchcommand'/],
  ];
  for (const [args, message] of badArgs) {
    it(`exits 2 with a one-line message for: events ${args.join(' ')}`, async () => {
      const dir = tempDir();
      const run = await runCli([...args, '--dir', dir]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing was written');
    });
  }

  it('prints help and version with exit 0', async () => {
    const help = await runCli(['demo', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--fail-rate <r>/);
    // `--version` and `-V` alone are answered before commander loads; with another flag, by commander.
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const args of [['--version'], ['-V'], ['--no-color', '--version']]) {
      const version = await runCli(args);
      assert.equal(version.code, 0, args.join(' '));
      assert.equal(version.stdout, `${pkg.version}\n`, args.join(' '));
    }
  });
});
