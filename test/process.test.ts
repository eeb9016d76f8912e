import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { checkChain, logIdOf, rawLines, ROOT, runNode, segmentFiles, tempDir } from './helpers.js';

const APPENDER = path.join(ROOT, 'test', 'children', 'appender.mjs');

/** Starts an appender, SIGKILLs it after `killAfterMs`, and returns the seq → id of every ack it printed. */
function appendUntilKilled(dir: string, jobId: string, killAfterMs: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APPENDER, dir, jobId, 'fsync', 'forever', '8'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let started = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!started && out.includes('ack ')) {
        started = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`appender ended by itself (${String(signal)})`));
      const acks = new Map<number, string>();
      // Only whole lines: the kill may cut the last one.
      for (const line of out.split('\n').slice(0, -1)) {
        const [word, seq, id] = line.split(' ');
        if (word === 'ack') acks.set(Number(seq), String(id));
      }
      resolve(acks);
    });
  });
}

describe('crash safety and concurrent processes', () => {
  it('every event acknowledged in fsync mode survives SIGKILL, and reopening continues the chain', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-crash');
    const acked = new Map<number, string>();
    for (let round = 0; round < 4; round++) {
      const acks = await appendUntilKilled(dir, 'job-crash', 50 + Math.floor(Math.random() * 400));
      assert.ok(acks.size > 0, `round ${round} acknowledged something`);
      for (const [seq, id] of acks) acked.set(seq, id);
      // The next writer recovers whatever the kill left (a torn tail at worst) and continues.
      const log = await EventLog.open({ dir, jobId: 'job-crash' });
      assert.equal(log.stream, 'main', 'the dead writer’s lock was taken over');
      await log.close();
    }
    const records = checkChain(segmentFiles(jobDir)[0] as string, logIdOf(jobDir), 'main');
    const bySeq = new Map(records.map((r) => [r.seq as number, r.id as string]));
    for (const [seq, id] of acked) assert.equal(bySeq.get(seq), id, `acknowledged seq ${seq} is on disk`);
    assert.equal(new Set(records.map((r) => r.id)).size, records.length, 'no event is written twice');
  });

  it('two processes writing one job get two streams with whole, unmixed lines', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-pair');
    const runs = await Promise.all([
      runNode([APPENDER, dir, 'job-pair', 'write', '3000', '4']),
      runNode([APPENDER, dir, 'job-pair', 'write', '3000', '4']),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const streams = runs.map((r) => /^stream (\S+)$/m.exec(r.stdout)?.[1]);
    assert.equal(new Set(streams).size, 2, `streams: ${streams.join(', ')}`);
    assert.ok(streams.includes('main'));
    const files = segmentFiles(jobDir);
    assert.equal(files.length, 2);
    for (const stream of streams) {
      const file = files.find((f) => path.basename(f).startsWith(`events-${stream}-`)) as string;
      const records = checkChain(file, logIdOf(jobDir), stream as string);
      assert.equal(records.length, 3000);
    }
  });

  it('buffered events are flushed by the exit hook when the program ends without close()', async () => {
    const dir = tempDir();
    const run = await runNode([APPENDER, dir, 'job-exit', 'buffered', '5000', '1', 'exit']);
    assert.equal(run.code, 0, run.stderr);
    const lines = rawLines(segmentFiles(path.join(dir, 'job-exit'))[0] as string);
    assert.equal(lines.length, 5000);
  });
});
