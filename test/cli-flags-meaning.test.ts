import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { parseDuration } from '../src/maintenance/prune-policy.js';
import { parseTimeArg } from '../src/format/time-parse.js';
import { runCli, tempDir } from './helpers.js';

/**
 * What the flags mean, end to end through bin/events: --kind names that exist (built in or in the
 * log), comma lists and globs; durations and times read as systemd and journalctl read them.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Rec = { job_id: string; event_type: string; agent_id?: string; ts: string };
const parse = (stdout: string): Rec[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
const typesOf = (stdout: string) => [...new Set(parse(stdout).map((r) => r.event_type))].sort();
const jobsOf = (stdout: string) => [...new Set(parse(stdout).map((r) => r.job_id))].sort();

/** Runs `fn` with the wall clock `shiftMs` away, so that the events it writes are dated then. */
async function writtenAt(shiftMs: number, fn: () => Promise<void>): Promise<void> {
  const realNow = Date.now;
  Date.now = () => realNow() + shiftMs;
  try {
    await fn();
  } finally {
    Date.now = realNow;
  }
}

/**
 * Two finished jobs: `old` written three hours ago, `new` half an hour ago. Both have agent_failed
 * and a job_* end; `new` has a custom type, deploy_finished.
 */
async function makeLog(dir: string): Promise<string> {
  await writtenAt(-3 * HOUR, async () => {
    const log = await EventLog.open({ dir, jobId: 'old' });
    await log.append({ event_type: 'job_started', data: { config: {}, total_items: 1 } });
    await log.append({
      event_type: 'agent_started',
      agent_id: 'agent-1',
      data: { item_id: 'a', worktree: 'wt-a', attempt: 1 },
    });
    await log.append({
      event_type: 'agent_failed',
      agent_id: 'agent-1',
      data: { item_id: 'a', error: 'boom', retry_eligible: false },
    });
    await log.append({ event_type: 'job_failed', data: { error: 'all items failed', partial_results: 0 } });
    await log.close();
  });
  await writtenAt(-30 * MINUTE, async () => {
    const log = await EventLog.open({ dir, jobId: 'new' });
    await log.append({ event_type: 'job_started', data: { config: {}, total_items: 1 } });
    await log.append({
      event_type: 'agent_progress',
      agent_id: 'agent-2',
      data: { item_id: 'b', step: 'build', progress_pct: 50 },
    });
    await log.append({
      event_type: 'agent_failed',
      agent_id: 'agent-2',
      data: { item_id: 'b', error: 'flaky', retry_eligible: true },
    });
    await log.append({ event_type: 'deploy_finished', data: { target: 'staging' } });
    await log.append({
      event_type: 'job_completed',
      data: { duration_ms: 5, success_count: 0, failure_count: 1 },
    });
    await log.close();
  });
  return dir;
}

function assertUsageError(
  run: { code: number | null; stderr: string },
  ...patterns: (RegExp | string)[]
): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(run.stderr.includes(p), `"${p}" in: ${run.stderr}`);
    else assert.match(run.stderr, p);
  }
}

describe('--kind: a name that exists, comma lists and globs', () => {
  // Made here, not in the hook: tempDir removes it when the scope it is called in ends.
  const dir = tempDir();
  before(() => makeLog(dir));
  const query = (...args: string[]) => runCli(['query', '--dir', dir, '--json', ...args]);

  it('a misspelled type is a usage error naming the flag and the value, with the closest name', async () => {
    assertUsageError(
      await query('--kind', 'agent_faild'),
      '--kind',
      'agent_faild',
      'did you mean agent_failed',
    );
    assertUsageError(
      await query('--kind', 'AgentFaild'),
      '--kind',
      'AgentFaild',
      'did you mean agent_failed',
    );
  });

  it('the same for tail and export, which take the same filters', async () => {
    assertUsageError(
      await runCli(['tail', '--dir', dir, '--kind', 'agent_faild']),
      '--kind',
      'did you mean agent_failed',
    );
    assertUsageError(
      await runCli(['export', '--dir', dir, '--kind', 'job_faild']),
      '--kind',
      'did you mean job_failed',
    );
  });

  it('a bare family name is refused, suggesting its glob', async () => {
    assertUsageError(await query('--kind', 'agent'), '--kind', '"agent"', 'did you mean agent_*');
  });

  it('a comma list of kinds prints both kinds', async () => {
    const run = await query('--kind', 'agent_failed,job_failed');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(typesOf(run.stdout), ['agent_failed', 'job_failed']);
    assert.equal(parse(run.stdout).length, 3);
    const spelled = await query('--kind', 'AgentFailed, job_completed');
    assert.equal(spelled.code, 0, spelled.stderr);
    assert.deepEqual(typesOf(spelled.stdout), ['agent_failed', 'job_completed']);
  });

  it("a '*' glob matches anywhere in the name, not only at the end", async () => {
    const run = await query('--kind', '*failed');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(typesOf(run.stdout), ['agent_failed', 'job_failed']);
    const middle = await query('--kind', 'job_*ed', '--job', 'new');
    assert.equal(middle.code, 0, middle.stderr);
    assert.deepEqual(typesOf(middle.stdout), ['job_completed', 'job_started']);
    // The old prefix form still works, in both spellings.
    const prefix = await query('--kind', 'Agent*');
    assert.equal(prefix.code, 0, prefix.stderr);
    assert.deepEqual(typesOf(prefix.stdout), ['agent_failed', 'agent_progress', 'agent_started']);
  });

  it('the same with the indexes ignored (the line prefilter understands globs too)', async () => {
    const run = await query('--kind', '*failed', '--no-index');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(typesOf(run.stdout), ['agent_failed', 'job_failed']);
  });

  it('a custom type present in the log is accepted; a near miss of it is refused', async () => {
    for (const name of ['deploy_finished', 'DeployFinished', 'deploy_*']) {
      const run = await query('--kind', name);
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      assert.deepEqual(typesOf(run.stdout), ['deploy_finished'], name);
    }
    assertUsageError(await query('--kind', 'deploy_finishd'), 'did you mean deploy_finished');
  });

  it('a built-in type the log does not hold is no error: no match, exit 0', async () => {
    const run = await query('--kind', 'memory_pressure');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
  });

  it('a glob that matches no type, built in or in the log, is a usage error', async () => {
    assertUsageError(await query('--kind', 'nothing_*'), '--kind', 'nothing_*');
  });

  it('a custom type in another job than the ones read is not in the log being read', async () => {
    assertUsageError(await query('--kind', 'deploy_finished', '--job', 'old'), '--kind', 'deploy_finished');
  });

  it('comma lists work for --agent and --job too', async () => {
    const agents = await query('--agent', 'agent-1,agent-2');
    assert.equal(agents.code, 0, agents.stderr);
    assert.deepEqual([...new Set(parse(agents.stdout).map((r) => r.agent_id))].sort(), [
      'agent-1',
      'agent-2',
    ]);
    const jobs = await query('--job', 'old,new', '--kind', 'job_started');
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.deepEqual(jobsOf(jobs.stdout), ['new', 'old']);
  });
});

describe('durations: systemd time spans', () => {
  it('parses units as systemd does: M is a month, m a minute', () => {
    const cases: [string, number][] = [
      ['1M', 2_629_800_000],
      ['1month', 2_629_800_000],
      ['2 months', 2 * 2_629_800_000],
      ['1m', MINUTE],
      ['1min', MINUTE],
      ['5 minutes', 5 * MINUTE],
      ['1y', 365.25 * DAY],
      ['2years', 2 * 365.25 * DAY],
      ['2w', 14 * DAY],
      ['1 week', 7 * DAY],
      ['30d', 30 * DAY],
      ['1day', DAY],
      ['12h', 12 * HOUR],
      ['1hr', HOUR],
      ['3 hours', 3 * HOUR],
      ['45s', 45_000],
      ['2sec', 2000],
      ['1 second', 1000],
      ['250ms', 250],
      ['250msec', 250],
      ['1500us', 1.5],
      ['1500usec', 1.5],
      ['1h30min', 90 * MINUTE],
      ['1h 30m', 90 * MINUTE],
      ['2d 3h 4min 5s', 2 * DAY + 3 * HOUR + 4 * MINUTE + 5000],
      ['1.5h', 90 * MINUTE],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration('--older-than', text), ms, text);
  });

  it('refuses unknown units, numbers without a unit and wrong-case units, listing the units', () => {
    for (const text of ['5x', '30', '1H', '1D', '1 fortnight', 'long ago', '1h30', '']) {
      assert.throws(
        () => parseDuration('--older-than', text),
        (err: Error) =>
          /--older-than/.test(err.message) && /\bmin\b/.test(err.message) && /\bM\b/.test(err.message),
        text,
      );
    }
  });

  describe('prune --older-than, on jobs that ended 30 minutes and 3 hours ago', () => {
    const dir = tempDir();
    before(() => makeLog(dir));
    const planned = async (...args: string[]) => {
      const run = await runCli(['prune', '--dir', dir, '--dry-run', '--json', ...args]);
      assert.equal(run.code, 0, run.stderr);
      return (JSON.parse(run.stdout) as { items: { job: string; kind: string }[] }).items
        .filter((i) => i.kind === 'job')
        .map((i) => i.job)
        .sort();
    };

    it('1M is a month: nothing recent is selected', async () => {
      assert.deepEqual(await planned('--older-than', '1M'), []);
      assert.deepEqual(await planned('--older-than', '1month'), []);
    });

    it('minutes and hours select what is that old', async () => {
      assert.deepEqual(await planned('--older-than', '1m'), ['new', 'old']);
      assert.deepEqual(await planned('--older-than', '10min'), ['new', 'old']);
      assert.deepEqual(await planned('--older-than', '1h30min'), ['old']);
      assert.deepEqual(await planned('--older-than', '4h'), []);
    });

    it('an unknown unit exits 2 listing the units', async () => {
      assertUsageError(
        await runCli(['prune', '--dir', dir, '--older-than', '5x', '--dry-run']),
        '--older-than',
        '"5x"',
        /\bmin\b/,
        /\bmonths?\b/,
      );
    });

    const copy = tempDir();
    it('prune.json olderThan reads the same way, and names itself when wrong', async () => {
      fs.cpSync(dir, copy, { recursive: true });
      fs.writeFileSync(path.join(copy, 'prune.json'), JSON.stringify({ olderThan: '1M' }));
      const run = await runCli(['prune', '--dir', copy, '--dry-run', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual((JSON.parse(run.stdout) as { items: unknown[] }).items, []);
      fs.writeFileSync(path.join(copy, 'prune.json'), JSON.stringify({ olderThan: '3 fortnights' }));
      assertUsageError(await runCli(['prune', '--dir', copy, '--dry-run']), 'olderThan', 'fortnights');
    });
  });
});

describe('--since and --until: journalctl times', () => {
  const utcNow = Date.UTC(2026, 10, 23, 18, 30, 0); // Mon 2026-11-23 18:30 UTC
  const at = (value: string, utc = true, now = utcNow) => parseTimeArg('--since', value, { now, utc }) / 1000;

  it('relative forms: "2 hours ago", -1h, +1h, "1h left", a bare span (ago), combined units', () => {
    assert.equal(at('2 hours ago'), utcNow - 2 * HOUR);
    assert.equal(at('2h ago'), utcNow - 2 * HOUR);
    assert.equal(at('-1h'), utcNow - HOUR);
    assert.equal(at('+1h'), utcNow + HOUR);
    assert.equal(at('1h left'), utcNow + HOUR);
    assert.equal(at('15m'), utcNow - 15 * MINUTE, 'm is minutes');
    assert.equal(at('1M ago'), utcNow - 2_629_800_000, 'M is a month');
    assert.equal(at('-1h30min'), utcNow - 90 * MINUTE);
  });

  it('now, today, yesterday, tomorrow, and those days at a time', () => {
    assert.equal(at('now'), utcNow);
    assert.equal(at('today'), Date.UTC(2026, 10, 23));
    assert.equal(at('yesterday'), Date.UTC(2026, 10, 22));
    assert.equal(at('tomorrow'), Date.UTC(2026, 10, 24));
    assert.equal(at('yesterday 14:00'), Date.UTC(2026, 10, 22, 14, 0));
    assert.equal(at('today 08:15:30'), Date.UTC(2026, 10, 23, 8, 15, 30));
    assert.equal(at('tomorrow 00:00'), Date.UTC(2026, 10, 24));
    assert.equal(at('14:00'), Date.UTC(2026, 10, 23, 14, 0), 'a time alone is today');
  });

  it('local time unless --utc', () => {
    const localNow = new Date(2026, 10, 23, 18, 30).getTime();
    assert.equal(at('yesterday 14:00', false, localNow), new Date(2026, 10, 22, 14, 0).getTime());
    assert.equal(at('yesterday', false, localNow), new Date(2026, 10, 22).getTime());
    assert.equal(at('2026-11-22 14:00', false, localNow), new Date(2026, 10, 22, 14, 0).getTime());
    assert.equal(at('2026-11-22 14:00', true, localNow), Date.UTC(2026, 10, 22, 14, 0));
    assert.equal(at('2026-11-22T14:00+02:00', false, localNow), Date.UTC(2026, 10, 22, 12, 0));
  });

  it('dates and times that do not exist are refused, not rolled over', () => {
    for (const value of [
      '2026-02-31',
      '2026-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-04-31',
      '24:61',
      '24:00',
      '2026-11-22T14:60',
      '2026-11-22 23:59:60',
      'yesterday 25:00',
    ]) {
      assert.throws(() => at(value), /--since/, value);
    }
    assert.equal(at('2028-02-29'), Date.UTC(2028, 1, 29), 'a leap day that exists');
  });

  it('unknown units are refused with the list', () => {
    assert.throws(() => at('5x ago'), /--since.*\bmin\b.*\bM\b/);
    assert.throws(() => at('-2 fortnights'), /--since/);
  });

  describe('through bin/events', () => {
    const dir = tempDir();
    before(() => makeLog(dir));
    const query = (...args: string[]) => runCli(['query', '--dir', dir, '--json', ...args]);

    it('--since "2 hours ago" and --since -1h: the job of half an hour ago only', async () => {
      for (const since of ['2 hours ago', '-1h', '-1h30min', '45min ago']) {
        const run = await query('--since', since);
        assert.equal(run.code, 0, `${since}: ${run.stderr}`);
        assert.deepEqual(jobsOf(run.stdout), ['new'], since);
      }
      const both = await query('--since', '-4h', '--until', '+1h');
      assert.equal(both.code, 0, both.stderr);
      assert.deepEqual(jobsOf(both.stdout), ['new', 'old']);
    });

    it('--since "yesterday 14:00" is accepted and means that instant', async () => {
      const run = await query('--since', 'yesterday 14:00');
      assert.equal(run.code, 0, run.stderr);
      const sinceMs = parseTimeArg('--since', 'yesterday 14:00', { utc: true }) / 1000;
      const all = parse((await query()).stdout);
      assert.deepEqual(
        parse(run.stdout).map((r) => r.ts),
        all.filter((r) => Date.parse(r.ts) >= sinceMs).map((r) => r.ts),
      );
    });

    it('--since 2026-02-31 and 24:61 exit 2 naming the flag and the value', async () => {
      assertUsageError(await query('--since', '2026-02-31'), '--since', '2026-02-31');
      assertUsageError(await query('--until', '24:61'), '--until', '24:61');
    });

    it('jobs --since reads the same forms', async () => {
      const run = await runCli(['jobs', '--dir', dir, '--since', '-1h', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        (JSON.parse(run.stdout) as { job: string }[]).map((j) => j.job),
        ['new'],
      );
    });
  });
});
