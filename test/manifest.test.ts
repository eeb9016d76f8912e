import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { runCli, tempDir } from './helpers.js';

/** LOG.json and a job's index.json are checked by hand (no zod on the read path): try to break them. */
async function smallJob(dir: string, job: string): Promise<string> {
  const log = await EventLog.open({ dir, jobId: job });
  for (let i = 0; i < 3; i++) await log.append({ event_type: 'note', data: { i } });
  await log.close();
  return path.join(dir, job, 'LOG.json');
}

function rewrite(file: string, change: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(value);
  fs.writeFileSync(file, JSON.stringify(value));
}

describe('a LOG.json that is not a manifest', () => {
  const broken: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['a stream start without its seq', (m) => (m.start = { main: { prev: 'x' } }), /start: expected/],
    ['an empty job_id', (m) => (m.job_id = ''), /job_id: expected a non-empty string/],
    ['an unknown chain', (m) => (m.chain = 'md5'), /chain: expected "sha256" or "hmac-sha256"/],
    ['streams that are not records', (m) => (m.streams = { main: 3 }), /streams: expected/],
    ['a wrong format', (m) => Object.assign(m, { format: ['mmm-events'] }), /format: expected "mmm-events"/],
  ];
  for (const [what, change, message] of broken) {
    it(`is refused, naming the field (${what}): exit 4, one line`, async () => {
      const dir = tempDir();
      const file = await smallJob(dir, 'j');
      rewrite(file, change);
      const run = await runCli(['query', '--dir', dir, '--job', 'j']);
      assert.equal(run.code, 4, run.stderr);
      assert.match(run.stderr, /LOG\.json is not a valid manifest: /);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    });
  }

  it('of a later format version says to upgrade', async () => {
    const dir = tempDir();
    rewrite(await smallJob(dir, 'j'), (m) => (m.version = 2));
    const run = await runCli(['query', '--dir', dir, '--job', 'j']);
    assert.equal(run.code, 4);
    assert.match(run.stderr, /has format version 2; this mmm-events reads version 1.*upgrade/s);
  });

  it('with a field it does not know is read, and a writer keeps only the known fields', async () => {
    const dir = tempDir();
    const file = await smallJob(dir, 'j');
    rewrite(file, (m) => (m.later_field = { x: 1 }));
    const run = await runCli(['query', '--dir', dir, '--job', 'j', '-o', 'jsonl']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 3);
    const log = await EventLog.open({ dir, jobId: 'j', stream: 'other' });
    await log.append({ event_type: 'note', data: {} });
    await log.close();
    const after = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.equal(after.later_field, undefined);
    assert.deepEqual(Object.keys(after.streams as object).sort(), ['main', 'other']);
  });
});

describe("a job's index.json (the cached summary of `events jobs`)", () => {
  it('that does not match its shape is computed again, not trusted', async () => {
    const dir = tempDir();
    await smallJob(dir, 'j');
    const first = await runCli(['jobs', '--dir', dir, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const cache = path.join(dir, 'j', 'index.json');
    const lies = [
      (s: Record<string, unknown>) => (s.events = '3000'),
      (s: Record<string, unknown>) => (s.extra = 1),
      (s: Record<string, unknown>) => delete s.damaged,
      (s: Record<string, unknown>) => (s.lifecycle = 'exploded'),
    ];
    for (const lie of lies) {
      rewrite(cache, (file) => {
        const summary = file.summary as Record<string, unknown>;
        lie(summary);
        summary.itemsDone = 999;
      });
      const run = await runCli(['jobs', '--dir', dir, '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), JSON.parse(first.stdout));
    }
  });
});
