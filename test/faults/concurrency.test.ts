import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { verifyLog } from '../../src/index.js';
import { LiveCli, ROOT, runCli, runNode, tempDir } from '../helpers.js';

const APPENDER = path.join(ROOT, 'test', 'children', 'appender.mjs');
const PROCESSES = 8;
const EVENTS = Number(process.env.MMM_CONCURRENCY_EVENTS ?? 50_000);
// The prune loop keeps the newest events of the job: enough that tail, a few seconds behind at most, reads
// everything before it goes (pruning what a follower has not read yet loses it for that follower).
const PRUNE_KEEPS = Number(process.env.MMM_PRUNE_KEEPS ?? EVENTS * 6);

describe('fault: concurrency', () => {
  it(`${PROCESSES} processes × ${EVENTS} events on one job, with tail -f and a prune loop running`, async () => {
    const dir = tempDir();
    // The job exists before tail starts, so tail can follow it by name.
    const first = await runNode([APPENDER, dir, 'busy', 'write', '1', '1'], {});
    const firstStream = /^stream (\S+)$/m.exec(first.stdout)?.[1] as string;
    const tail = new LiveCli(['tail', '--dir', dir, '--job', 'busy', '-f', '-n', '1000', '--json']);
    await tail.waitForLines(1);
    let pruning = true;
    let prunes = 0;
    const pruneFailures: string[] = [];
    const pruneLoop = (async () => {
      while (pruning) {
        const run = await runCli(['prune', '--dir', dir, '--max-events', String(PRUNE_KEEPS), '--quiet']);
        if (run.code !== 0) pruneFailures.push(run.stderr);
        prunes++;
      }
    })();
    // verify meanwhile: writers create, rotate and record segments and prune removes old ones, but no
    // recorded stream or segment may ever look gone, nor a stream unrecorded (issue 11).
    const falseAlarms: string[] = [];
    let verifies = 0;
    const verifyLoop = (async () => {
      while (pruning) {
        try {
          const report = await verifyLog(dir);
          for (const p of report.streams.flatMap((s) => s.problems))
            if (p.kind === 'missing-segment' || p.kind === 'unrecorded-stream') falseAlarms.push(p.message);
          falseAlarms.push(...report.jobs.map((j) => j.message));
        } catch {
          // A segment pruned while verify read it: not what this loop watches.
        }
        verifies++;
      }
    })();
    const writers = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runNode([APPENDER, dir, 'busy', 'write', String(EVENTS), '4'], {
          env: { APPENDER_ROTATE_BYTES: String(2 ** 20) },
        }),
      ),
    );
    pruning = false;
    await pruneLoop;
    await verifyLoop;
    assert.deepEqual(pruneFailures, [], 'every prune succeeded while the writers ran');
    assert.deepEqual(falseAlarms, [], `${verifies} verifies meanwhile saw nothing missing`);
    const acked = new Map<string, number>();
    for (const w of writers) {
      assert.equal(w.code, 0, w.stderr);
      const stream = /^stream (\S+)$/m.exec(w.stdout)?.[1] as string;
      // A writer may take the stream the first event went to: it continues that stream.
      acked.set(stream, [...w.stdout.matchAll(/^ack /gm)].length + (stream === firstStream ? 1 : 0));
    }
    assert.equal(new Set(acked.keys()).size, PROCESSES, 'each process its own stream');
    const total = 1 + PROCESSES * EVENTS;
    await tail.waitForLines(total, 120_000);
    tail.kill('SIGINT');
    await tail.exited;
    // tail: every event of every stream exactly once, in seq order per stream.
    const next = new Map<string, number>();
    for (const line of tail.lines.filter(Boolean)) {
      const r = JSON.parse(line) as { stream: string; seq: number };
      const expected = next.get(r.stream) ?? 1;
      assert.equal(r.seq, expected, `stream ${r.stream}: seq ${r.seq} after ${expected - 1}`);
      next.set(r.stream, expected + 1);
    }
    for (const [stream, count] of acked)
      assert.equal((next.get(stream) ?? 1) - 1, count, `tail saw all of ${stream}`);
    const report = await verifyLog(dir);
    assert.ok(report.ok, JSON.stringify(report.streams.flatMap((s) => s.problems)));
    const globalDir = path.join(dir, 'global');
    const removed = fs
      .readdirSync(globalDir)
      .filter((f) => f.startsWith('audit-'))
      .reduce(
        (n, f) => n + fs.readFileSync(path.join(globalDir, f), 'utf8').split('\n').filter(Boolean).length,
        0,
      );
    process.stderr.write(
      `# concurrency: ${total} events by ${PROCESSES} processes; ${prunes} prunes meanwhile removed ${removed} segments; ${verifies} verifies saw nothing missing; tail saw each event once, in order\n`,
    );
  });
});
