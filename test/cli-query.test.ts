import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BIN, rawLines, ROOT, runCli, segmentFiles, tempDir } from './helpers.js';

const BASIC = path.join(ROOT, 'fixtures', 'basic');
type Rec = {
  seq: number;
  ts: string;
  event_type: string;
  agent_id?: string;
  severity: string;
  data: Record<string, unknown>;
};
const fixture = (): Rec[] =>
  rawLines(segmentFiles(path.join(BASIC, 'job-basic'))[0] as string).map((l) => JSON.parse(l));
const parse = (stdout: string): Rec[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('events query', () => {
  const all = fixture();
  const cases: [string, string[], (r: Rec) => boolean][] = [
    ['--kind AgentFailed', ['--kind', 'AgentFailed'], (r) => r.event_type === 'agent_failed'],
    [
      '--kind agent_* --kind job_started',
      ['--kind', 'agent_*', '--kind', 'job_started'],
      (r) => r.event_type.startsWith('agent_') || r.event_type === 'job_started',
    ],
    ['--agent agent-2', ['--agent', 'agent-2'], (r) => r.agent_id === 'agent-2'],
    ['--item item-0003', ['--item', 'item-0003'], (r) => r.data.item_id === 'item-0003'],
    ['--severity warn', ['--severity', 'warn'], (r) => ['warn', 'error', 'fatal'].includes(r.severity)],
    [
      '--where retry_eligible=true',
      ['--where', 'retry_eligible=true'],
      (r) => r.data.retry_eligible === true,
    ],
    [
      '--grep as a regular expression',
      ['--grep', 'test suite failed \\([12] of'],
      (r) => /test suite failed \([12] of/.test(String(r.data.error)),
    ],
    ['--grep with --fixed', ['--grep', '"step":"build"', '--fixed'], (r) => r.data.step === 'build'],
    [
      '--kind with --agent',
      ['--kind', 'agent_progress', '--agent', 'agent-1'],
      (r) => r.event_type === 'agent_progress' && r.agent_id === 'agent-1',
    ],
  ];
  for (const [name, args, expected] of cases) {
    it(`filters ${name} exactly like a scan of the raw lines`, async () => {
      const run = await runCli(['query', '--dir', BASIC, ...args]);
      assert.equal(run.code, 0, run.stderr);
      const want = all.filter(expected).map((r) => r.seq);
      assert.ok(want.length > 0, 'the fixture has matching events');
      assert.deepEqual(
        parse(run.stdout).map((r) => r.seq),
        want,
      );
    });
  }

  it('bounds time with --since (inclusive) and --until (exclusive)', async () => {
    const from = all[10] as Rec;
    const to = all[20] as Rec;
    const run = await runCli(['query', '--dir', BASIC, '--since', from.ts, '--until', to.ts]);
    assert.equal(run.code, 0, run.stderr);
    const want = all.filter((r) => r.ts >= from.ts && r.ts < to.ts).map((r) => r.seq);
    assert.deepEqual(
      parse(run.stdout).map((r) => r.seq),
      want,
    );
  });

  it('prints the raw stored lines as jsonl when piped, and a JSON array with -o json', async () => {
    const run = await runCli(['query', '--dir', BASIC]);
    assert.equal(
      run.stdout,
      fs.readFileSync(segmentFiles(path.join(BASIC, 'job-basic'))[0] as string, 'utf8'),
    );
    const json = await runCli(['query', '--dir', BASIC, '-o', 'json', '--kind', 'job_started']);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Rec[]).map((r) => r.event_type),
      ['job_started'],
    );
    // A type the log could hold but does not (a name that exists nowhere is a usage error, exit 2).
    const none = await runCli(['query', '--dir', BASIC, '-o', 'json', '--kind', 'job_failed']);
    assert.equal(none.code, 0, 'no match is not an error');
    assert.deepEqual(JSON.parse(none.stdout), []);
  });

  it('pretty output: one line per event with time, job, agent, type and the fields that matter', async () => {
    const run = await runCli([
      'query',
      '--dir',
      BASIC,
      '-o',
      'pretty',
      '--utc',
      '--kind',
      'agent_failed',
      '--limit',
      '1',
    ]);
    const failed = all.find((r) => r.event_type === 'agent_failed') as Rec;
    const time = `${failed.ts.slice(0, 10)} ${failed.ts.slice(11, 23)}Z`;
    assert.equal(
      run.stdout,
      `${time} job-basic ${failed.agent_id} agent_failed item=${String(failed.data.item_id)} error=${JSON.stringify(failed.data.error)}${failed.data.retry_eligible ? ' (retryable)' : ''}\n`,
    );
  });

  it('--limit takes the oldest n, --last the newest n in order', async () => {
    const limit = await runCli(['query', '--dir', BASIC, '--limit', '3']);
    assert.deepEqual(
      parse(limit.stdout).map((r) => r.seq),
      [1, 2, 3],
    );
    const last = await runCli(['query', '--dir', BASIC, '--last', '3', '--kind', 'agent_completed']);
    const want = all
      .filter((r) => r.event_type === 'agent_completed')
      .slice(-3)
      .map((r) => r.seq);
    assert.deepEqual(
      parse(last.stdout).map((r) => r.seq),
      want,
    );
  });

  it('resumes after a cursor file, with a filter, without losing or repeating events', async () => {
    const dir = tempDir();
    fs.cpSync(BASIC, dir, { recursive: true });
    const cursorFile = path.join(dir, 'cursor');
    const first = await runCli([
      'query',
      '--dir',
      dir,
      '--kind',
      'agent_*',
      '--limit',
      '5',
      '--cursor-file',
      cursorFile,
    ]);
    const second = await runCli(['query', '--dir', dir, '--kind', 'agent_*', '--cursor-file', cursorFile]);
    const third = await runCli(['query', '--dir', dir, '--kind', 'agent_*', '--cursor-file', cursorFile]);
    const seen = [...parse(first.stdout), ...parse(second.stdout)].map((r) => r.seq);
    assert.deepEqual(
      seen,
      all.filter((r) => r.event_type.startsWith('agent_')).map((r) => r.seq),
    );
    assert.equal(third.stdout, '', 'nothing new: nothing printed');
    const shown = await runCli(['query', '--dir', dir, '--limit', '2', '--show-cursor']);
    const cursor = /^cursor: (\S+)$/m.exec(shown.stderr)?.[1] as string;
    const after = await runCli(['query', '--dir', dir, '--after-cursor', cursor, '--limit', '1']);
    assert.deepEqual(
      parse(after.stdout).map((r) => r.seq),
      [3],
    );
  });

  it('skips and counts corrupt lines, still printing the events around them', async () => {
    const dir = tempDir();
    fs.cpSync(BASIC, dir, { recursive: true });
    const file = segmentFiles(path.join(dir, 'job-basic'))[0] as string;
    const lines = rawLines(file);
    lines.splice(5, 0, '{broken', '[1,2,3]', '{"seq":"x"}');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const run = await runCli(['query', '--dir', dir]);
    assert.equal(run.code, 0);
    assert.equal(parse(run.stdout).length, all.length);
    assert.equal(
      run.stderr,
      "warning: skipped 3 corrupt lines in job-basic (run 'events verify --job job-basic')\n",
    );
  });

  it('ends quietly and promptly when the reader of its output goes away (| head)', async () => {
    const dir = tempDir();
    const demo = await runCli([
      'demo',
      '--dir',
      dir,
      '--job',
      'big',
      '--items',
      '1500',
      '--agents',
      '8',
      '--seed',
      '1',
      '--speed',
      '0',
      '--durability',
      'write',
    ]);
    assert.equal(demo.code, 0, demo.stderr);
    const result = await new Promise<{ code: number | null; stderr: string; lines: number }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'query', '--dir', dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let received = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        received += d.toString();
        if (received.split('\n').length > 5) child.stdout.destroy(); // like `head -n 5` exiting
      });
      child.on('close', (code) => resolve({ code, stderr, lines: received.split('\n').length }));
    });
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '', 'no EPIPE trace');
  });

  const bad: [string[], number, RegExp][] = [
    [['query', '--since', 'last tuesday-ish'], 2, /--since: cannot read "last tuesday-ish" as a time/],
    [['query', '--until', '2026-13-45'], 2, /--until: cannot read "2026-13-45"/],
    [['query', '--severity', 'loud'], 2, /--severity takes one of debug, info, warn, error, fatal/],
    [['query', '--limit', '-1'], 2, /--limit takes a whole number/],
    [['query', '--grep', '(unclosed'], 2, /--grep: not a regular expression/],
    [['query', '--where', 'novalue'], 2, /--where takes path=value/],
    [['query', '--after-cursor', 'garbage'], 2, /not a cursor/],
    [['query', '--job', 'no-such-job'], 3, /no job no-such-job in /],
    [['query', '--job', '../etc'], 2, /invalid job id/],
  ];
  for (const [args, code, message] of bad) {
    it(`exits ${code} for: events ${args.join(' ')}`, async () => {
      const run = await runCli([...args, '--dir', BASIC]);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    });
  }

  it('finds the log by walking up from the current directory, and says where it looked when there is none', async () => {
    const dir = tempDir();
    fs.cpSync(BASIC, path.join(dir, '.mmm', 'mapreduce', 'events'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'src', 'deep'), { recursive: true });
    const found = await runCli(['query', '--kind', 'job_started'], { cwd: path.join(dir, 'src', 'deep') });
    assert.equal(found.code, 0, found.stderr);
    assert.equal(parse(found.stdout).length, 1);
    const empty = tempDir();
    const missing = await runCli(['query'], { cwd: empty });
    assert.equal(missing.code, 3);
    assert.match(
      missing.stderr,
      new RegExp(`no .mmm/mapreduce/events found in ${empty} or any directory above it`),
    );
  });
});

describe('events jobs', () => {
  it('lists each job with its status, items and counts', async () => {
    const dir = tempDir();
    fs.cpSync(BASIC, dir, { recursive: true });
    const demo = await runCli([
      'demo',
      '--dir',
      dir,
      '--job',
      'second',
      '--items',
      '4',
      '--seed',
      '2',
      '--speed',
      '0',
    ]);
    assert.equal(demo.code, 0);
    const run = await runCli(['jobs', '--dir', dir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const jobs = JSON.parse(run.stdout) as {
      job: string;
      status: string;
      events: number;
      itemsTotal: number;
      itemsDone: number;
    }[];
    assert.deepEqual(
      jobs.map((j) => j.job),
      ['second', 'job-basic'],
      'most recent activity first',
    );
    const basic = jobs[1] as (typeof jobs)[number];
    const all = fixture();
    assert.equal(basic.events, all.length);
    assert.equal(basic.status, all.at(-1)?.event_type === 'job_completed' ? 'completed' : 'failed');
    assert.equal(basic.itemsTotal, 6);
    assert.equal(basic.itemsDone, all.filter((r) => r.event_type === 'agent_completed').length);
    const table = await runCli(['ls', '--dir', dir, '--status', 'completed']);
    assert.match(table.stdout, /job-basic +│ completed/);
  });
});
