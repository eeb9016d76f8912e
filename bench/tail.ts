import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLog } from '../src/index.js';
import { machine, percentile, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- tail`: the time from `append()` resolving (fsync) to `events tail -f` printing
 * the event, for events appended one at a time at random intervals, and in bursts.
 */
export async function benchTail(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-events-bench-tail-'));
  const log = await EventLog.open({ dir, jobId: 'tail-bench' });
  await log.append({ event_type: 'bench_ready', data: {} });
  const child = spawn(
    path.join(ROOT, 'bin', 'events.js'),
    ['tail', '--dir', dir, '-f', '-n', '1', '--json'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const acked = new Map<number, bigint>();
  const latencies: number[] = [];
  let printed = 0;
  let onPrinted: (() => void) | undefined;
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => {
    const now = process.hrtime.bigint();
    const lines = (partial + data).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const seq = (JSON.parse(line) as { seq: number }).seq;
      const at = acked.get(seq);
      if (at !== undefined) latencies.push(Number(now - at) / 1e6);
      printed++;
    }
    onPrinted?.();
  });
  const printedAtLeast = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (printed >= n ? resolve() : undefined);
      onPrinted = check;
      check();
    });
  await printedAtLeast(1);
  const singles = 200;
  for (let i = 0; i < singles; i++) {
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 30));
    const receipt = await log.append({ event_type: 'bench_tick', data: { i } });
    acked.set(receipt.seq, process.hrtime.bigint());
  }
  await printedAtLeast(1 + singles);
  const single = Float64Array.from(latencies).sort();
  latencies.length = 0;
  const bursts = 20;
  for (let b = 0; b < bursts; b++) {
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        log.append({ event_type: 'bench_burst', data: { b, i } }).then((r) => {
          acked.set(r.seq, process.hrtime.bigint());
        }),
      ),
    );
  }
  await printedAtLeast(1 + singles + bursts * 500);
  const burst = Float64Array.from(latencies).sort();
  child.kill('SIGINT');
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const row = (name: string, v: Float64Array) =>
    `| ${name} | ${v.length} | ${percentile(v, 50).toFixed(1)} ms | ${percentile(v, 99).toFixed(1)} ms | ${(v[v.length - 1] ?? NaN).toFixed(1)} ms |`;
  const markdown = `
## Tail latency (\`npm run bench -- tail\`)

${machine()}. From \`append()\` resolving (\`fsync\` mode) to \`events tail -f --json\` printing the line, read by the benchmark from the pipe. One job, one stream, ext4 with \`fs.watch\` working (the 100 ms stat poll is the fallback).

| appends | events | p50 | p99 | max |
|---|---:|---:|---:|---:|
${row('one at a time, 5-35 ms apart', single)}
${row('bursts of 500 concurrent appends', burst)}

Target: every event printed within 250 ms of its acknowledgement.
`;
  process.stdout.write(markdown);
  writeSection('tail', markdown);
}
