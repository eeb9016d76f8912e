import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, readEvents, verifyLog } from '../../src/index.js';
import { ROOT, tempDir } from '../helpers.js';

const APPENDER = path.join(ROOT, 'test', 'children', 'appender.mjs');
const KILLS = Number(process.env.MMM_CRASHES ?? 200);

/** Runs the appender until it is SIGKILLed after `ms`; returns what it acknowledged. */
function runAndKill(
  dir: string,
  ms: number,
  durability: string,
): Promise<{ stream: string; acked: Map<number, string> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APPENDER, dir, 'crashy', durability, 'forever', '3'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, APPENDER_ROTATE_BYTES: '65536' },
    });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // The clock starts once it appends: what is measured is a kill in the middle of the work.
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`the appender ended by itself: ${out.slice(-200)}`));
      // Only whole lines were printed by the process: a line cut by the kill was not an acknowledgement.
      const lines = out.split('\n').slice(0, -1);
      const stream = /^stream (\S+)$/m.exec(out)?.[1] ?? '?';
      const acked = new Map<number, string>();
      for (const line of lines) {
        const m = /^ack (\d+) (\S+)$/.exec(line);
        if (m !== null) acked.set(Number(m[1]), m[2] as string);
      }
      resolve({ stream, acked });
    });
  });
}

describe('fault: crashes', () => {
  for (const [durability, kills] of [
    ['fsync', KILLS],
    ['write', Math.ceil(KILLS / 4)],
  ] as const) {
    it(`${kills} SIGKILLs of a ${durability} writer at random moments lose and duplicate nothing acknowledged`, async () => {
      const dir = tempDir();
      const acked = new Map<string, string>();
      let state = 7;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let k = 0; k < kills; k++) {
        const run = await runAndKill(dir, 5 + Math.floor(random() * 120), durability);
        for (const [seq, id] of run.acked) acked.set(`${run.stream}:${seq}`, id);
      }
      // A last open quarantines a torn tail (and seals what a crash left unsealed), as the next writer would.
      const log = await EventLog.open({ dir, jobId: 'crashy' });
      await log.close();
      const seen = new Map<string, string>();
      for await (const { record } of readEvents({ dir, jobs: ['crashy'] })) {
        const key = `${record.stream}:${record.seq}`;
        assert.ok(!seen.has(key), `${key} read twice`);
        seen.set(key, record.id);
      }
      const lost = [...acked].filter(([key, id]) => seen.get(key) !== id);
      assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${acked.size} acknowledged events lost`);
      const report = await verifyLog(dir);
      assert.ok(report.ok, JSON.stringify(report.streams.flatMap((s) => s.problems)));
      assert.ok(
        report.streams.every((s) => !s.tornTail && s.unsealed.length === 0),
        'no torn line outside quarantine',
      );
      process.stderr.write(
        `# crashes (${durability}): ${kills} kills, ${acked.size} events acknowledged, all found; ${report.quarantined} torn tails quarantined\n`,
      );
    });
  }
});
