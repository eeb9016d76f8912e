import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { ROOT, runCli, tempDir, type CliResult } from './helpers.js';

const INSIGHT = path.join(ROOT, 'fixtures', 'insight');

/**
 * What event data may hold and a terminal must never receive raw: a newline (it would forge a line),
 * a tab, NUL, SGR and OSC sequences (colour, the window title), a C1 CSI, DEL, a bidi override.
 */
const HOSTILE = '\n\u001b[31m\u001b]0;pwned\u0007\u009b2J\u202e\u0000\t\u007f';
/** Control characters, C1, and the bidi and line-separator characters, none of which may be printed. */
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
/**
 * The same strings with each such character, and each newline, replaced by `!` (which sorts before
 * letters and digits as they do, so rows keep their order).
 */
const tame = (s: string) => s.replace(new RegExp(FORBIDDEN.source, 'gu'), '!').replace(/\n/g, '!');

const agent = `agent-${HOSTILE}1`;
const item = `item-${HOSTILE}1`;
// A command-line argument cannot hold NUL: the correlation id has the rest.
const correlation = `corr-${HOSTILE.replace('\u0000', '')}`;
const firstError = `exit status 1:${HOSTILE}red text`;
const secondError = `second${HOSTILE}failure`;
const jobError = `job broke${HOSTILE}`;

/** Writes jobs J (a failed job whose data holds `HOSTILE`), K (an anomaly) and L (a lying job_failed). */
async function writeLog(dir: string): Promise<void> {
  const j = await EventLog.open({ dir, jobId: 'J', compress: false });
  const c = { correlation_id: correlation };
  await j.append({ event_type: 'job_started', data: { config: { agents: 2 }, total_items: 3 } });
  await j.append({
    event_type: 'agent_started',
    agent_id: agent,
    ...c,
    data: { item_id: item, worktree: 'wt-1', attempt: 1 },
  });
  await j.append({
    event_type: 'agent_failed',
    agent_id: agent,
    ...c,
    data: { item_id: item, error: firstError, retry_eligible: true },
  });
  await j.append({
    event_type: 'agent_retrying',
    agent_id: agent,
    ...c,
    data: { item_id: item, attempt: 2, backoff_ms: 10 },
  });
  await j.append({
    event_type: 'agent_started',
    agent_id: agent,
    ...c,
    data: { item_id: item, worktree: 'wt-2', attempt: 2 },
  });
  for (const n of [2, 3]) {
    await j.append({
      event_type: 'agent_started',
      agent_id: 'agent-2',
      data: { item_id: `item-${n}`, worktree: `wt-${n}`, attempt: 1 },
    });
    await j.append({
      event_type: 'agent_completed',
      agent_id: 'agent-2',
      data: { item_id: `item-${n}`, duration_ms: 5, commits: [] },
    });
  }
  await j.append({
    event_type: 'agent_failed',
    agent_id: agent,
    ...c,
    data: { item_id: item, error: secondError, retry_eligible: false },
  });
  await j.append({ event_type: 'job_failed', data: { error: jobError, partial_results: 2 } });
  await j.close();

  const k = await EventLog.open({ dir, jobId: 'K', compress: false });
  await k.append({ event_type: 'job_started', data: { config: {}, total_items: 1 } });
  await k.append({
    event_type: 'agent_completed',
    agent_id: agent,
    data: { item_id: `item-${HOSTILE}9`, duration_ms: 1, commits: [] },
  });
  await k.append({
    event_type: 'job_completed',
    data: { duration_ms: 1, success_count: 0, failure_count: 0 },
  });
  await k.close();

  const l = await EventLog.open({ dir, jobId: 'L', compress: false });
  await l.append({ event_type: 'job_started', data: { config: {}, total_items: 2 } });
  await l.append({
    event_type: 'agent_started',
    agent_id: 'agent-1',
    data: { item_id: 'item-1', worktree: 'wt', attempt: 1 },
  });
  await l.append({
    event_type: 'agent_completed',
    agent_id: 'agent-1',
    data: { item_id: 'item-1', duration_ms: 1, commits: [] },
  });
  await l.append({ event_type: 'job_failed', data: { error: 'gave up', partial_results: 0 } });
  await l.close();
}

/**
 * The same log with every string tamed: the same events, times and ids, so every output must have the
 * same lines. (The chain is not rewritten, and the indexes are left out: readers scan the segments.)
 */
function writeTwin(from: string, to: string): void {
  const tameAll = (value: unknown): unknown =>
    typeof value === 'string'
      ? tame(value)
      : Array.isArray(value)
        ? value.map(tameAll)
        : typeof value === 'object' && value !== null
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [tame(k), tameAll(v)]))
          : value;
  for (const job of fs.readdirSync(from)) {
    fs.mkdirSync(path.join(to, job));
    for (const file of fs.readdirSync(path.join(from, job))) {
      const text = fs.readFileSync(path.join(from, job, file), 'utf8');
      if (file === 'LOG.json') fs.writeFileSync(path.join(to, job, file), text);
      if (!file.endsWith('.jsonl')) continue;
      const lines = text.split('\n').slice(0, -1);
      const tamed = lines.map((l) => JSON.stringify(tameAll(JSON.parse(l))) + '\n');
      fs.writeFileSync(path.join(to, job, file), tamed.join(''));
    }
  }
}

const lines = (text: string) => text.split('\n').length;
// eslint-disable-next-line no-control-regex
const sgr = /\u001b\[[0-9;]*m/gu;

describe('event data never reaches the terminal raw', () => {
  const hostile = tempDir();
  const twin = tempDir();
  before(async () => {
    await writeLog(hostile);
    writeTwin(hostile, twin);
  });

  const commands: [string, (t: (s: string) => string) => string[]][] = [
    ['errors', () => ['errors']],
    ['stats', () => ['stats']],
    ['stats of one job', () => ['stats', '--job', 'J']],
    ['replay', () => ['replay', '--job', 'J']],
    ['replay --step', () => ['replay', '--job', 'J', '--step']],
    ['replay --check of an anomaly (stderr)', () => ['replay', '--job', 'K', '--check']],
    ['timeline', () => ['timeline', '--job', 'J', '--width', '60']],
    ['trace', (t) => ['trace', t(correlation)]],
    ['query -o pretty', () => ['query', '-o', 'pretty']],
    ['query -o table', () => ['query', '-o', 'table']],
    ['tail -o pretty', () => ['tail', '-n', '50', '-o', 'pretty']],
    ['show', () => ['show', 'J', '3']],
    ['jobs', () => ['jobs']],
  ];

  for (const [name, args] of commands) {
    for (const colour of [false, true]) {
      it(`${name}${colour ? ' (--color)' : ''}: every control character escaped, no line forged`, async () => {
        const flags = colour ? ['--color'] : [];
        const run = (dir: string, t: (s: string) => string): Promise<CliResult> =>
          runCli([...flags, ...args(t), '--dir', dir]);
        const [got, expected] = await Promise.all([run(hostile, (s) => s), run(twin, tame)]);
        assert.equal(got.code, expected.code, got.stderr);
        for (const [stream, text] of [
          ['stdout', got.stdout],
          ['stderr', got.stderr],
        ] as const) {
          // With colour, the CLI's own SGR sequences are expected; nothing else is.
          const plain = colour ? text.replace(sgr, '') : text;
          const bad = FORBIDDEN.exec(plain);
          assert.equal(
            bad,
            null,
            `${stream} holds U+${bad?.[0].codePointAt(0)?.toString(16).padStart(4, '0') ?? ''} at ${bad?.index ?? ''}: ${JSON.stringify(text)}`,
          );
        }
        // ... and exactly the colour sequences the same log without control characters gets.
        if (colour) assert.deepEqual(got.stdout.match(sgr), expected.stdout.match(sgr));
        assert.ok(got.stdout.length > 0);
        assert.equal(lines(got.stdout), lines(expected.stdout), 'a line was forged on stdout');
        assert.equal(lines(got.stderr), lines(expected.stderr), 'a line was forged on stderr');
      });
    }
  }

  it('--json outputs hold the exact strings', async () => {
    const json = async (args: string[]) => {
      const run = await runCli([...args, '--dir', hostile, '--json']);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout;
    };
    const records = (await json(['query']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { agent_id?: string; data: { error?: string; item_id?: string } });
    assert.deepEqual(
      records.map((r) => r.data.error).filter((e) => e !== undefined),
      [firstError, secondError, jobError, 'gave up'],
    );
    assert.ok(records.some((r) => r.agent_id === agent && r.data.item_id === item));

    const errors = JSON.parse(await json(['errors'])) as {
      groups: { agents: string[]; items: string[]; example: { data: { error: string } } }[];
    };
    const examples = errors.groups.map((g) => g.example.data.error);
    for (const e of [firstError, secondError, jobError]) assert.ok(examples.includes(e), e);
    assert.ok(errors.groups.some((g) => g.agents.includes(agent) && g.items.includes(item)));

    const stats = JSON.parse(await json(['stats'])) as {
      total: { topErrors: { example: string }[]; agents: { agent: string }[] };
    };
    for (const e of [firstError, secondError, jobError])
      assert.ok(
        stats.total.topErrors.some((t) => t.example === e),
        e,
      );
    assert.ok(stats.total.agents.some((a) => a.agent === agent));

    const state = JSON.parse(await json(['replay', '--job', 'J'])) as {
      items: Record<string, { lastError: string }>;
      agents: Record<string, { lastError: string }>;
      failure: { at: string; error: string; partialResults: number };
    };
    assert.equal(state.items[item]?.lastError, secondError);
    assert.equal(state.agents[agent]?.lastError, secondError);
    assert.deepEqual([state.failure.error, state.failure.partialResults], [jobError, 2]);

    const timeline = JSON.parse(await json(['timeline', '--job', 'J'])) as {
      agents: { agent: string; attempts: { item: string }[] }[];
      failure: { error: string };
    };
    assert.ok(timeline.agents.some((a) => a.agent === agent && a.attempts[0]?.item === item));
    assert.equal(timeline.failure.error, jobError);

    const traced = (await json(['trace', correlation]))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { correlation_id: string; data: { error?: string } });
    assert.equal(traced.length, 5);
    assert.ok(traced.every((r) => r.correlation_id === correlation));
    assert.equal(traced[1]?.data.error, firstError);

    const shown = JSON.parse(await json(['show', 'J', '3'])) as { agent_id: string; data: { error: string } };
    assert.deepEqual([shown.agent_id, shown.data.error], [agent, firstError]);
  });
});

describe('replay --check and timeline of a failed job', () => {
  it('--check exits 0 on the consistent log of a failed job, and says it failed', async () => {
    const run = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-failed', '--check']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^Job job-failed: failed; 0 of 3 items completed, 3 failed/);
    assert.match(run.stdout, /^ {2}job_failed reported: 0 partial results; error: 3 of 3 items failed$/m);
  });

  const dir = tempDir();
  it('--check still exits 4 on anomalies, and when job_failed disagrees with the events', async () => {
    const anomaly = await runCli(['replay', '--dir', INSIGHT, '--job', 'job-anomaly', '--check']);
    assert.equal(anomaly.code, 4);
    assert.match(anomaly.stderr, /job_completed says 0 items succeeded; the events show 1/);
    await writeLog(dir);
    const lying = await runCli(['replay', '--dir', dir, '--job', 'L', '--check']);
    assert.equal(lying.code, 4);
    assert.match(lying.stderr, /job_failed says 0 items had results; the events show 1 completed/);
    const consistent = await runCli(['replay', '--dir', dir, '--job', 'J', '--check']);
    assert.equal(consistent.code, 0, consistent.stderr);
  });

  it('the timeline marks when the job failed, and why', async () => {
    const run = await runCli(['timeline', '--dir', INSIGHT, '--job', 'job-failed', '--width', '40']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^job failed at 2026-11-22 18:55:18\.972: 3 of 3 items failed$/m);
    const jobRow = run.stdout.split('\n').find((l) => /^job +\|/.test(l));
    assert.match(jobRow ?? '', /^job +\| +F\|$/, 'an F at the end of the job row');
    assert.match(run.stdout, /F job failed/);
    const json = await runCli(['timeline', '--dir', INSIGHT, '--job', 'job-failed', '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as { failure: unknown }).failure, {
      at: '2026-11-22T18:55:18.972795Z',
      error: '3 of 3 items failed',
    });
  });
});

describe('damage is said, not hidden', () => {
  const DAMAGED = path.join(ROOT, 'fixtures', 'damaged');

  it('replay says what it skipped, and --check fails on a log with corrupt lines', async () => {
    const run = await runCli(['replay', '--dir', DAMAGED, '--job', 'job-damaged', '--check']);
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stderr, /warning: skipped 3 corrupt lines in job-damaged/);
    assert.match(run.stderr, /replay: 3 corrupt lines of job job-damaged were skipped/);
  });

  it('timeline says what it skipped', async () => {
    const run = await runCli(['timeline', '--dir', DAMAGED, '--job', 'job-damaged', '--width', '60']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: skipped 3 corrupt lines in job-damaged/);
  });

  it('a truncated .gz is named by timeline and fails replay --check', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'cut', rotateBytes: 2048 });
    await log.append({ event_type: 'job_started', data: { config: {}, total_items: 1 } });
    for (let i = 0; i < 60; i++) {
      await log.append({
        event_type: 'agent_progress',
        agent_id: 'agent-1',
        data: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
      });
    }
    await log.close();
    const gz = fs
      .readdirSync(path.join(dir, 'cut'))
      .filter((f) => f.endsWith('.jsonl.gz'))
      .sort()[0] as string;
    const file = path.join(dir, 'cut', gz);
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    fs.rmSync(file.replace(/\.jsonl\.gz$/, '.idx'));
    const timeline = await runCli(['timeline', '--dir', dir, '--job', 'cut', '--width', '60']);
    assert.match(timeline.stderr, new RegExp(`could not read all of cut/${gz.replace(/\./g, '\\.')}`));
    const replay = await runCli(['replay', '--dir', dir, '--job', 'cut', '--check']);
    assert.equal(replay.code, 4);
    assert.match(replay.stderr, /could not read all of cut\//);
  });
});
