import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { checkChain, logIdOf, progressEvent, rawLines, ROOT, segmentFiles, tempDir } from './helpers.js';

const CHILD = path.join(ROOT, 'test', 'children', 'buffered-signal.mjs');
const JOB = 'job-signal';
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** Long enough that nothing but the signal (or the exit) path writes a buffered event during a test. */
const NEVER_MS = '3600000';
/** A child that never ends (a signal that neither kills nor is handled) fails its test instead of hanging. */
const LIMIT = { timeout: 30_000 };

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the child (no TTY: every stdio is a pipe or ignored); `ready` resolves once it has printed
 * "ready", i.e. every append was acknowledged; `ended` when it is gone.
 */
function startChild(
  dir: string,
  { count = 500, durability = 'buffered', flushMs = NEVER_MS, scenario = 'wait' } = {},
) {
  const child = spawn(process.execPath, [CHILD, dir, String(count), durability, flushMs, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ended = new Promise<Ended>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('ready\n')) resolve();
    });
    void ended.then((end) =>
      reject(new Error(`the child ended before it was ready: ${JSON.stringify(end)}`)),
    );
  });
  return { child, ready, ended };
}

function linesOnDisk(dir: string): number {
  return segmentFiles(path.join(dir, JOB)).flatMap(rawLines).length;
}

/** Every seq 1..count is on disk exactly once, in order, with an intact chain. */
function assertAllOnDisk(dir: string, count: number): void {
  const jobDir = path.join(dir, JOB);
  const records = checkChain(segmentFiles(jobDir), logIdOf(jobDir), 'main');
  assert.equal(records.length, count, `${records.length} of ${count} acknowledged events are on disk`);
}

describe('buffered events and signals', () => {
  for (const signal of SIGNALS) {
    it(
      `${signal}: every acknowledged buffered event is written, and the process still dies by ${signal}`,
      LIMIT,
      async () => {
        const dir = tempDir();
        const { child, ready, ended } = startChild(dir);
        await ready;
        assert.equal(linesOnDisk(dir), 0, 'nothing was written before the signal');
        child.kill(signal);
        const end = await ended;
        assert.equal(end.signal, signal, `ended by ${signal}: ${JSON.stringify(end)}`);
        assertAllOnDisk(dir, 500);
      },
    );
  }

  it(
    'with default settings (flushMs 100), SIGTERM right after the acknowledgements loses nothing',
    LIMIT,
    async () => {
      const dir = tempDir();
      const { child, ready, ended } = startChild(dir, { count: 100, flushMs: 'default' });
      await ready;
      child.kill('SIGTERM');
      const end = await ended;
      assert.equal(end.signal, 'SIGTERM', JSON.stringify(end));
      assertAllOnDisk(dir, 100);
    },
  );

  it('the same signal twice: written once, and the process dies by it', LIMIT, async () => {
    const dir = tempDir();
    const { child, ready, ended } = startChild(dir);
    await ready;
    child.kill('SIGTERM');
    child.kill('SIGTERM');
    const end = await ended;
    assert.equal(end.signal, 'SIGTERM', JSON.stringify(end));
    assertAllOnDisk(dir, 500);
  });

  for (const scenario of ['handler', 'once-before']) {
    const how =
      scenario === 'handler'
        ? 'a SIGTERM listener added after the log was opened'
        : 'a process.once SIGTERM listener added before the log was opened';
    it(
      `a program with ${how}: events are written before its handler runs, and it decides how to end`,
      LIMIT,
      async () => {
        const dir = tempDir();
        const { child, ready, ended } = startChild(dir, { scenario });
        await ready;
        child.kill('SIGTERM');
        const end = await ended;
        assert.equal(end.signal, null, `not killed by the signal: ${JSON.stringify(end)}`);
        assert.equal(end.code, 0, end.stderr);
        assert.match(end.stdout, /^handled 500$/m, 'the handler ran and found every event on disk');
        assertAllOnDisk(dir, 500);
      },
    );
  }

  it(
    'a library that re-raises like signal-exit does: neither waits for the other, the process dies by SIGTERM',
    LIMIT,
    async () => {
      const dir = tempDir();
      const { child, ready, ended } = startChild(dir, { scenario: 'signal-exit' });
      await ready;
      child.kill('SIGTERM');
      const end = await ended;
      assert.equal(end.signal, 'SIGTERM', JSON.stringify(end));
      assert.match(end.stdout, /^signal-exit$/m, 'its listener ran');
      assertAllOnDisk(dir, 500);
    },
  );

  for (const durability of ['fsync', 'write']) {
    it(
      `${durability} mode: SIGTERM kills as before, and every acknowledged event is on disk`,
      LIMIT,
      async () => {
        const dir = tempDir();
        const { child, ready, ended } = startChild(dir, { count: 200, durability });
        await ready;
        assertAllOnDisk(dir, 200);
        child.kill('SIGTERM');
        const end = await ended;
        assert.equal(end.signal, 'SIGTERM', JSON.stringify(end));
        assertAllOnDisk(dir, 200);
      },
    );
  }
});

describe('buffered events and other ways a process ends', () => {
  for (const scenario of ['throw', 'reject'] as const) {
    const what = scenario === 'throw' ? 'an uncaught exception' : 'an unhandled rejection';
    it(`${what} after the appends: every acknowledged event is written (exit code 1)`, LIMIT, async () => {
      const dir = tempDir();
      const end = await startChild(dir, { scenario }).ended;
      assert.equal(end.signal, null, JSON.stringify(end));
      assert.equal(end.code, 1, end.stderr);
      assert.match(end.stderr, /boom/);
      assertAllOnDisk(dir, 500);
    });
  }

  it('process.exit() after the appends: every acknowledged event is written', LIMIT, async () => {
    const dir = tempDir();
    const end = await startChild(dir, { scenario: 'exit' }).ended;
    assert.equal(end.code, 3, end.stderr);
    assertAllOnDisk(dir, 500);
  });
});

describe('buffered events and SIGKILL', () => {
  it('SIGKILL loses the events not yet written, and nothing that was flushed', LIMIT, async () => {
    const dir = tempDir();
    const { child, ready, ended } = startChild(dir, { count: 300, scenario: 'flush-more' });
    await ready;
    child.kill('SIGKILL');
    const end = await ended;
    assert.equal(end.signal, 'SIGKILL', JSON.stringify(end));
    assertAllOnDisk(dir, 300); // the 300 appended after flush() are lost: nothing runs on SIGKILL
  });
});

describe('signal listeners', () => {
  const EVENTS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'exit'] as const;
  const counts = () => EVENTS.map((e) => process.listenerCount(e));

  it(
    'exist only while a buffered log is open: none for fsync or write logs, none left after close()',
    LIMIT,
    async () => {
      const dir = tempDir();
      const before = counts();
      assert.deepEqual(before.slice(0, 3), [0, 0, 0], 'this test process has no signal listeners of its own');
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        for (const durability of ['fsync', 'write'] as const) {
          const log = await EventLog.open({ dir, jobId: `job-${durability}`, durability });
          await log.append(progressEvent(1));
          assert.deepEqual(counts(), before, `a ${durability} log adds no listener`);
          await log.close();
        }
        // Opened and closed repeatedly, several at once: one listener each while any is open, then none.
        for (let round = 0; round < 30; round++) {
          const logs = await Promise.all(
            Array.from({ length: 4 }, (_, i) =>
              EventLog.open({ dir, jobId: `job-buffered-${i}`, durability: 'buffered' }),
            ),
          );
          await Promise.all(logs.map((log) => log.append(progressEvent(round))));
          assert.deepEqual(
            counts(),
            before.map((n) => n + 1),
            'one listener for each signal and for exit',
          );
          for (const log of logs.slice(0, 3)) await log.close();
          assert.deepEqual(
            counts(),
            before.map((n) => n + 1),
            'still one while a buffered log is open',
          );
          await logs[3]?.close();
          assert.deepEqual(counts(), before, 'none after the last buffered log closed');
        }
        assert.deepEqual(counts().slice(0, 3), [0, 0, 0]);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(
          warnings.map((w) => w.name),
          [],
          'no warning (MaxListenersExceededWarning) was emitted',
        );
      } finally {
        process.off('warning', onWarning);
      }
    },
  );

  it(
    'a program listener added while a buffered log is open keeps its signal from killing the process',
    LIMIT,
    async () => {
      // In-process, with SIGHUP: our listener finds another one, flushes, and leaves the process alive.
      const dir = tempDir();
      const log = await EventLog.open({
        dir,
        jobId: 'job-inproc',
        durability: 'buffered',
        flushMs: 3_600_000,
      });
      for (let i = 1; i <= 50; i++) await log.append(progressEvent(i));
      const jobDir = path.join(dir, 'job-inproc');
      assert.equal(segmentFiles(jobDir).flatMap(rawLines).length, 0);
      const received = once(process, 'SIGHUP');
      // Signal handles do not keep the event loop alive: a timer does, until the signal arrives.
      const keepAlive = setTimeout(() => {}, 10_000);
      process.kill(process.pid, 'SIGHUP');
      await received;
      clearTimeout(keepAlive);
      assert.equal(segmentFiles(jobDir).flatMap(rawLines).length, 50, 'flushed by the signal');
      await log.close();
      assert.equal(process.listenerCount('SIGHUP'), 0);
    },
  );
});
