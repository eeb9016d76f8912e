import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { LiveCli, runCli, tempDir, type CliResult } from './helpers.js';

/**
 * Issue 11 point 7: a `--dir` that holds no log (a project root, `.mmm`, an empty directory, a job's
 * own directory) is exit 3 with a message naming it and the events directory nearby, never a silent
 * exit 0 that keeps a cron `verify` green forever.
 */

/** A project root holding `.mmm/mapreduce/events` with one finished job, written by the library. */
async function project(): Promise<{ root: string; events: string }> {
  const root = tempDir('mmm-events-dir-');
  const events = path.join(root, '.mmm', 'mapreduce', 'events');
  const log = await EventLog.open({ dir: events, jobId: 'job-1' });
  await log.append({ event_type: 'job_started', data: { config: { agents: 1 }, total_items: 1 } });
  await log.append({
    event_type: 'job_completed',
    data: { duration_ms: 5, success_count: 1, failure_count: 0 },
  });
  await log.close();
  return { root, events };
}

function assertNoLog(result: CliResult, dir: string, suggestion?: string): void {
  assert.equal(result.code, 3, `exit ${String(result.code)}: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.ok(lines[0]?.startsWith(`events: ${dir} `), result.stderr);
  assert.match(result.stderr, /holds no event log/);
  if (suggestion !== undefined) assert.ok(result.stderr.includes(`${suggestion}?`), result.stderr);
  else assert.doesNotMatch(result.stderr, /did you mean/);
}

describe('a --dir that holds no log', () => {
  it('verify --dir <project root> exits 3 and suggests the events directory below it', async () => {
    const { root, events } = await project();
    const result = await runCli(['verify', '--dir', root]);
    assertNoLog(result, root, `did you mean --dir ${events}`);
  });

  it('jobs --dir <root>/.mmm and --dir <root>/.mmm/mapreduce likewise', async () => {
    const { root, events } = await project();
    for (const dir of [path.join(root, '.mmm'), path.join(root, '.mmm', 'mapreduce')]) {
      assertNoLog(await runCli(['jobs', '--dir', dir]), dir, `did you mean --dir ${events}`);
    }
    const ls = await runCli(['ls', '--dir', path.join(root, '.mmm'), '--json']);
    assert.equal(ls.code, 3, ls.stderr);
  });

  it('an empty directory exits 3 for every reading and maintenance command', async () => {
    const empty = tempDir();
    const commands = [
      ['verify'],
      ['jobs'],
      ['query'],
      ['tail'],
      ['export'],
      ['stats'],
      ['errors'],
      ['trace', 'corr-1'],
      ['show', 'job-1', '1'],
      ['replay', '--job', 'job-1'],
      ['timeline', '--job', 'job-1'],
      ['index'],
      ['rotate'],
      ['prune', '--older-than', '30d'],
    ];
    const results = await Promise.all(commands.map((args) => runCli([...args, '--dir', empty])));
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 3, `${commands[i]?.join(' ')}: exit ${String(result.code)} ${result.stderr}`);
      assert.match(result.stderr, /holds no event log: it is empty/, commands[i]?.join(' '));
    }
    // Nothing was written into the wrong directory (prune would have made global/ there).
    assert.deepEqual(fs.readdirSync(empty), []);
  });

  it('--dir <events>/<job> (or its quarantine/) suggests the events directory above it', async () => {
    const { events } = await project();
    const jobDir = path.join(events, 'job-1');
    const result = await runCli(['verify', '--dir', jobDir]);
    assertNoLog(result, jobDir, `did you mean --dir ${events}`);
    assert.match(result.stderr, /the directory of one job/);
    const quarantine = path.join(jobDir, 'quarantine');
    fs.mkdirSync(quarantine);
    assertNoLog(await runCli(['query', '--dir', quarantine]), quarantine, `did you mean --dir ${events}`);
  });

  it('a wrong $MMM_EVENTS_DIR exits 3 and suggests the right value', async () => {
    const { root, events } = await project();
    const result = await runCli(['verify'], { env: { MMM_EVENTS_DIR: root }, cwd: root });
    assertNoLog(result, root, `did you mean MMM_EVENTS_DIR=${events}`);
    assert.match(result.stderr, /\(from \$MMM_EVENTS_DIR\)/);
  });

  it('a directory beside the log suggests the nearest .mmm/mapreduce/events above it', async () => {
    const { root, events } = await project();
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'main.ts'), '');
    assertNoLog(await runCli(['stats', '--dir', src]), src, `did you mean --dir ${events}`);
  });

  it('suggests nothing when nothing nearby holds a log', async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, '.mmm', 'mapreduce', 'events'), { recursive: true });
    fs.writeFileSync(path.join(root, 'README.md'), 'a project whose jobs never ran\n');
    assertNoLog(await runCli(['verify', '--dir', root]), root);
  });

  it('the default directory found from the current directory must hold a log too', async () => {
    const root = tempDir();
    const events = path.join(root, '.mmm', 'mapreduce', 'events');
    fs.mkdirSync(events, { recursive: true });
    const result = await runCli(['verify'], { cwd: root, env: { MMM_EVENTS_DIR: '' } });
    assertNoLog(result, events);
    assert.match(result.stderr, /no job has written to it yet/);
  });

  it('tail -f --dir <project root> fails like the others', async () => {
    const { root, events } = await project();
    // Before this rule it followed the project root forever: the timeout kills it then.
    const result = await runCli(['tail', '-f', '--dir', root], { timeout: 20_000 });
    assertNoLog(result, root, `did you mean --dir ${events}`);
  });
});

describe('a --dir that holds a log', () => {
  it('works as before: by --dir, by $MMM_EVENTS_DIR and found from the project root', async () => {
    const { root, events } = await project();
    const verify = await runCli(['verify', '--dir', events]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /job-1/);
    const byEnv = await runCli(['jobs', '--json'], { env: { MMM_EVENTS_DIR: events } });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.match(byEnv.stdout, /job-1/);
    const found = await runCli(['query', '--json'], { cwd: root, env: { MMM_EVENTS_DIR: '' } });
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout.trimEnd().split('\n').length, 2);
    const nothing = await runCli(['query', '--dir', events, '--kind', 'agent_failed']);
    assert.deepEqual([nothing.code, nothing.stdout], [0, '']); // no match is still no error
  });

  it('a log whose every job was pruned still holds one (global/ keeps the audit trail)', async () => {
    const { events } = await project();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const prune = await runCli(['prune', '--dir', events, '--older-than', '1ms', '--quiet']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.deepEqual(fs.readdirSync(events), ['global']);
    for (const args of [['jobs'], ['verify'], ['prune', '--older-than', '1ms', '--quiet']]) {
      const result = await runCli([...args, '--dir', events]);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
  });

  it('a retention policy alone (prune.json) makes an events directory', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'prune.json'), JSON.stringify({ olderThan: '30d' }));
    const result = await runCli(['prune', '--dir', dir, '--json']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('a job directory that lost its LOG.json is still a log, for verify to look at', async () => {
    const { events } = await project();
    fs.rmSync(path.join(events, 'job-1', 'LOG.json'));
    const result = await runCli(['verify', '--dir', events]);
    assert.notEqual(result.code, 3, result.stderr);
    assert.doesNotMatch(result.stderr, /holds no event log/);
  });
});

async function waitForStderr(cli: LiveCli, text: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cli.stderr.includes(text)) {
    assert.ok(Date.now() < deadline, `stderr never said "${text}": ${cli.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('tail -f on an events directory no job has written to yet', () => {
  it('waits for the first job, says so once on stderr, and prints its events', async () => {
    const dir = tempDir();
    const tail = new LiveCli(['tail', '-f', '--dir', dir, '--json']);
    await waitForStderr(tail, 'waiting for the first job');
    assert.equal(tail.stderr, `waiting for the first job in ${dir}\n`);
    const log = await EventLog.open({ dir, jobId: 'first' });
    await log.append({ event_type: 'job_started', data: { config: {}, total_items: 1 } });
    const [line] = await tail.waitForLines(1);
    const record = JSON.parse(line ?? '') as { job_id: string; event_type: string };
    assert.deepEqual([record.job_id, record.event_type], ['first', 'job_started']);
    await log.close();
    tail.kill('SIGTERM');
    assert.equal((await tail.exited).code, 0);
    assert.equal(tail.stderr, `waiting for the first job in ${dir}\n`);
  });

  it('waits on the default .mmm/mapreduce/events found from the current directory', async () => {
    const root = tempDir();
    const events = path.join(root, '.mmm', 'mapreduce', 'events');
    fs.mkdirSync(events, { recursive: true });
    fs.writeFileSync(path.join(events, '.keep'), '');
    const tail = new LiveCli(['tail', '-f', '--json'], { cwd: root, env: { MMM_EVENTS_DIR: '' } });
    await waitForStderr(tail, 'waiting for the first job');
    assert.equal(tail.stderr, `waiting for the first job in ${events}\n`);
    const log = await EventLog.open({ dir: events, jobId: 'first' });
    await log.append({ event_type: 'job_started', data: { config: {}, total_items: 1 } });
    assert.match((await tail.waitForLines(1))[0] ?? '', /"job_id":"first"/);
    await log.close();
    tail.kill('SIGTERM');
    assert.equal((await tail.exited).code, 0);
  });
});
