import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { EventLog, type Durability } from '../src/index.js';
import { machine, median, percentile, writeSection } from './report.js';

/**
 * Append throughput and ack latency per durability mode, with 1 and 64 concurrent producers, and
 * pino writing records of the same shape to a file in the same run as the reference (issue 2).
 */
const RUNS = 5;
const event = (i: number, agent: number) =>
  ({
    event_type: 'agent_progress',
    agent_id: `agent-${agent}`,
    data: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
  }) as const;

interface Sample {
  eventsPerSec: number;
  p50us: number;
  p99us: number;
}

async function runOurs(durability: Durability, producers: number, count: number): Promise<Sample> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-'));
  try {
    const log = await EventLog.open({ dir, jobId: 'bench', durability });
    const latencies = new Float64Array(count);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        while (next < count) {
          const i = next++;
          const t0 = performance.now();
          await log.append(event(i, p));
          latencies[i] = (performance.now() - t0) * 1000;
        }
      }),
    );
    await log.close(); // buffered and write modes are only done once the data is on disk
    const seconds = (performance.now() - started) / 1000;
    latencies.sort();
    return {
      eventsPerSec: count / seconds,
      p50us: percentile(latencies, 50),
      p99us: percentile(latencies, 99),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runPino(sync: boolean, count: number): Promise<Sample> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-pino-'));
  try {
    const dest = pino.destination({ dest: path.join(dir, 'pino.log'), sync, minLength: sync ? 0 : 4096 });
    if (!sync) await once(dest, 'ready');
    const logger = pino(
      { base: { job_id: 'bench', stream: 'main' }, timestamp: pino.stdTimeFunctions.isoTime },
      dest,
    );
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      logger.info({ ...event(i, 0), correlation_id: 'bench' });
    }
    dest.flushSync();
    dest.end();
    await once(dest, 'finish');
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerSec: count / seconds, p50us: NaN, p99us: NaN };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function medianOf(run: () => Promise<Sample>): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await run());
  return {
    eventsPerSec: median(samples.map((s) => s.eventsPerSec)),
    p50us: median(samples.map((s) => s.p50us)),
    p99us: median(samples.map((s) => s.p99us)),
  };
}

export async function benchWrite(): Promise<void> {
  const rows: [string, number, number, Sample][] = [];
  const pinoAsync = await medianOf(() => runPino(false, 200_000));
  rows.push(['pino (sonic-boom async, reference)', 1, 200_000, pinoAsync]);
  rows.push(['pino (sync, reference)', 1, 100_000, await medianOf(() => runPino(true, 100_000))]);
  for (const durability of ['buffered', 'write', 'fsync'] as Durability[]) {
    for (const producers of [1, 64]) {
      const count = durability === 'fsync' && producers === 1 ? 5_000 : 200_000;
      rows.push([
        `mmm-events ${durability}`,
        producers,
        count,
        await medianOf(() => runOurs(durability, producers, count)),
      ]);
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  const fmt = (n: number) => (Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US'));
  const buffered = rows.find((r) => r[0] === 'mmm-events buffered' && r[1] === 1)?.[3].eventsPerSec ?? NaN;
  const fsync64 = rows.find((r) => r[0] === 'mmm-events fsync' && r[1] === 64)?.[3].eventsPerSec ?? NaN;
  const table = [
    '| writer | producers | events | events/s (median of 5) | ack p50 µs | ack p99 µs |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      ([name, producers, count, s]) =>
        `| ${name} | ${producers} | ${fmt(count)} | ${fmt(s.eventsPerSec)} | ${fmt(s.p50us)} | ${fmt(s.p99us)} |`,
    ),
  ];
  const markdown = [
    '## Write path (issue 2)',
    '',
    `Command: \`npm run bench -- write\`. Machine: ${machine()}. Measured ${new Date().toISOString().slice(0, 10)}.`,
    '',
    'Each row is the median of 5 runs in one process, side by side. A run appends `agent_progress` events',
    '(about 290 bytes a line) and ends with `close()`, so buffered and write modes include their final',
    'flush and fsync. "Ack" is the time from `append()` to its promise resolving; producers each await',
    'their own append before issuing the next. pino writes records of the same fields to a file.',
    '',
    ...table,
    '',
    `Targets: buffered at least as fast as pino (async) — ratio ${(buffered / pinoAsync.eventsPerSec).toFixed(2)}; ` +
      `fsync with 64 producers at least 100,000 events/s — ${fmt(fsync64)}.`,
  ].join('\n');
  process.stdout.write(markdown + '\n');
  writeSection('write', markdown);
}
