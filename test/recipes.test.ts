import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BIN, ROOT, checkChain, logIdOf, runCli, segmentFiles, tempDir, type CliResult } from './helpers.js';

/**
 * docs/recipes.md stays true: each of its programs, found by its `<!-- recipe: NAME -->` marker, is run
 * as it stands against a fresh log, and what it printed is checked against what the log holds.
 */
const RECIPES = fs.readFileSync(path.join(ROOT, 'docs', 'recipes.md'), 'utf8');

function recipe(name: string): string {
  const match = new RegExp(`<!-- recipe: ${name} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(RECIPES);
  assert.ok(match?.[1] !== undefined, `docs/recipes.md has a code block marked <!-- recipe: ${name} -->`);
  return match[1] + '\n';
}

interface Sandbox {
  dir: string;
  logDir: string;
  env: NodeJS.ProcessEnv;
}

/** A temp dir with an `events` executable (this checkout's bin/events.js) that $EVENTS names. */
function sandbox(): Sandbox {
  const dir = tempDir('mmm-events-recipe-');
  const events = path.join(dir, 'events');
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  fs.writeFileSync(events, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(BIN)} "$@"\n`, {
    mode: 0o755,
  });
  const logDir = path.join(dir, 'log');
  const env: NodeJS.ProcessEnv = { ...process.env, EVENTS: events, MMM_EVENTS_DIR: logDir, TZ: 'UTC' };
  delete env.JOB;
  return { dir, logDir, env };
}

function run(command: string, args: string[], box: Sandbox, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: box.dir, env: box.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface LogRecord {
  seq: number;
  ts: string;
  id: string;
  stream: string;
  event_type: string;
  agent_id?: string;
  data: unknown;
}

/** The job's events as `events query -o jsonl` prints them, after checking the chain on disk. */
async function logOf(box: Sandbox, job: string): Promise<LogRecord[]> {
  const query = await runCli(['query', '--dir', box.logDir, '--job', job, '-o', 'jsonl']);
  assert.equal(query.code, 0, query.stderr);
  const records = query.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogRecord);
  assert.deepEqual(
    records.map((r) => r.seq),
    records.map((_, i) => i + 1),
    'seq runs 1..n',
  );
  const jobDir = path.join(box.logDir, job);
  assert.equal(checkChain(segmentFiles(jobDir), logIdOf(jobDir), 'main').length, records.length);
  return records;
}

interface Printed {
  emitted: { job: string; seq: number; id: string; ts: string; stream: string }[];
  written: { line: number; seq: number; id: string }[];
  refused: { line: number; error: string }[];
  ingestExit: number[];
}

/** What a recipe printed: the receipts of `emit --json`, and the acks of `ingest`, in order. */
function printed(stdout: string): Printed {
  const out: Printed = { emitted: [], written: [], refused: [], ingestExit: [] };
  const seqs: number[] = [];
  for (const line of stdout.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^emitted: (\{.*\})$/.exec(line))) {
      const receipt = JSON.parse(m[1] as string) as Printed['emitted'][number];
      out.emitted.push(receipt);
      seqs.push(receipt.seq);
    } else if ((m = /^line (\d+) written: seq (\d+), id (\S+)$/.exec(line))) {
      out.written.push({ line: Number(m[1]), seq: Number(m[2]), id: m[3] as string });
      seqs.push(Number(m[2]));
    } else if ((m = /^line (\d+) refused: (.+)$/.exec(line))) {
      out.refused.push({ line: Number(m[1]), error: m[2] as string });
    } else if ((m = /^ingest exited with (\d+)$/.exec(line))) {
      out.ingestExit.push(Number(m[1]));
    }
  }
  for (let i = 1; i < seqs.length; i++) {
    assert.ok((seqs[i] as number) > (seqs[i - 1] as number), `seqs printed in increasing order: ${seqs}`);
  }
  return out;
}

/** Every receipt and ack printed names an event of the log, by seq and id. */
function assertPrintedIsLogged(out: Printed, records: LogRecord[], job: string): void {
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  for (const receipt of out.emitted) {
    const record = bySeq.get(receipt.seq);
    assert.ok(record, `the log has the emitted seq ${receipt.seq}`);
    assert.deepEqual(receipt, { job, seq: record.seq, id: record.id, ts: record.ts, stream: record.stream });
  }
  for (const ack of out.written) {
    assert.equal(bySeq.get(ack.seq)?.id, ack.id, `line ${ack.line}: seq ${ack.seq} has id ${ack.id}`);
  }
  const lines = [...out.written, ...out.refused].map((a) => a.line).sort((a, b) => a - b);
  assert.deepEqual(
    lines,
    lines.map((_, i) => i + 1),
    'one ack per line sent',
  );
}

describe('docs/recipes.md: writing from other languages', { concurrency: true }, () => {
  it('Python: an EventWriter over events ingest, and a one-shot emit', async () => {
    const box = sandbox();
    const program = path.join(box.dir, 'events_demo.py');
    fs.writeFileSync(program, recipe('python'));
    const result = await run('python3', [program], box);
    assert.equal(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);

    const records = await logOf(box, 'py-demo');
    const out = printed(result.stdout);
    assertPrintedIsLogged(out, records, 'py-demo');
    assert.equal(out.emitted.length, 1);
    assert.deepEqual(
      out.written.map((a) => a.line),
      [1, 2, 4],
    );
    assert.equal(out.refused.length, 1);
    assert.match(out.refused[0]?.error ?? '', /^invalid agent_progress event: data\.progress_pct/);
    assert.deepEqual(out.ingestExit, [4], 'ingest says a line was refused');
    assert.deepEqual(
      records.map((r) => r.event_type),
      ['job_started', 'agent_started', 'agent_progress', 'build_note'],
      'the refused event is not written',
    );
    assert.deepEqual(records[0]?.data, { config: { lang: 'python' }, total_items: 1 });
    assert.deepEqual(records[3]?.data, { text: 'a "quote", a \\, a newline\n and ünïcode ✓' });
  });

  it('Rust: std::process::Command with hand-written JSON, and a one-shot emit', async () => {
    const box = sandbox();
    if (spawnSync('rustc', ['--version']).error !== undefined) {
      assert.fail('rustc not found: apt-get install -y rustc');
    }
    const source = path.join(box.dir, 'events_demo.rs');
    const binary = path.join(box.dir, 'events_demo');
    fs.writeFileSync(source, recipe('rust'));
    const build = await run('rustc', ['--edition', '2021', '-o', binary, source], box, 120_000);
    assert.equal(build.code, 0, build.stderr);
    assert.equal(build.stderr, '', 'the recipe compiles without warnings');
    const result = await run(binary, [], box);
    assert.equal(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);

    const records = await logOf(box, 'rust-demo');
    const out = printed(result.stdout);
    assertPrintedIsLogged(out, records, 'rust-demo');
    assert.equal(out.emitted.length, 1);
    assert.deepEqual(
      out.written.map((a) => a.line),
      [1, 3],
    );
    assert.equal(out.refused.length, 1);
    assert.match(out.refused[0]?.error ?? '', /^"invalid agent_completed event: data\.duration_ms/);
    assert.deepEqual(out.ingestExit, [4]);
    assert.deepEqual(
      records.map((r) => r.event_type),
      ['job_started', 'agent_started', 'build_note'],
      'the refused event is not written',
    );
    assert.deepEqual(records[0]?.data, { config: { lang: 'rust' }, total_items: 1 });
    assert.deepEqual(
      records[2]?.data,
      { text: 'a "quote", a \\, a tab\t, a newline\n and ünïcode ✓' },
      'json_str() escapes what JSON needs',
    );
  });

  it('bash: emit with typed fields, a coprocess, and a pipeline into events ingest', async () => {
    const box = sandbox();
    const script = path.join(box.dir, 'events_demo.sh');
    fs.writeFileSync(script, recipe('bash'));
    const result = await run('bash', [script], box);
    assert.equal(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);

    const records = await logOf(box, 'sh-demo');
    const out = printed(result.stdout);
    assertPrintedIsLogged(out, records, 'sh-demo');
    assert.deepEqual(
      records[1]?.data,
      { build: 42, ok: true, branch: 'main', tags: ['a', 'b'], code: '007' },
      'name=value is typed, := is raw JSON, == is a string',
    );
    assert.match(result.stdout, /^refused with exit 2$/m);
    assert.match(result.stderr, /^events: invalid agent_completed event: data\.duration_ms/m);
    assert.deepEqual(
      out.written.map((a) => a.line),
      [1, 2, 3],
    );
    assert.equal(out.refused.length, 1);
    assert.match(out.refused[0]?.error ?? '', /agent_id: required/);
    assert.deepEqual(out.ingestExit, [4]);
    assert.match(result.stdout, /^bulk: 3 of 3 written$/m);
    assert.deepEqual(
      records.map((r) => r.event_type),
      [
        'job_started',
        'deploy_note',
        'agent_started',
        ...Array<string>(3).fill('agent_progress'),
        ...Array<string>(3).fill('item_queued'),
      ],
      'refused events are not written',
    );
    assert.deepEqual(
      records.filter((r) => r.event_type === 'agent_progress').map((r) => r.agent_id),
      ['a1', 'a1', 'a1'],
    );
  });
});
