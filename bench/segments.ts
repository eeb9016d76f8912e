import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { genesisHash, hashLine, segmentFileName, serializeRecord, type EventRecord } from '../src/index.js';
import { formatMicros } from '../src/format/clock.js';
import { compressSegment } from '../src/storage/compress.js';
import { mkdirDurable } from '../src/storage/fsutil.js';
import { ensureManifest } from '../src/storage/manifest.js';
import { findEvent } from '../src/read/find.js';
import { readEvents } from '../src/read/reader.js';
import { sealSegment } from '../src/storage/segment-index.js';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- segments`: a log of about 2 GB (BENCH_SEGMENTS_MB, plain) spanning 30 days, in
 * rotated, sealed, gzip-compressed 100 MiB segments. One agent's events in a 10-minute window, and
 * `events show`, each with the segment indexes and with `--no-index`, in one run.
 *
 * The log is written record by record with the library's own serialisation and chain (a writer would
 * stamp the current time, and this log must span a month), then sealed and compressed by the same
 * code the writer uses.
 */
const TARGET_MB = Number(process.env.BENCH_SEGMENTS_MB ?? 2048);
const SEGMENT_BYTES = 100 * 2 ** 20;
const SPAN_US = 30 * 86_400 * 1e6;
const JOBS = ['bench-a', 'bench-b'];
const STREAMS = ['main', 'worker-2'];
const AGENTS = 32;
const RUNS = 3;

interface Generated {
  dir: string;
  plainBytes: number;
  events: number;
  startUs: number;
}

export async function benchSegments(): Promise<void> {
  const log = await generate();
  const bin = path.join(ROOT, 'bin', 'events.js');
  const files = listFiles(log.dir);
  const gzBytes = sum(files.filter((f) => f.endsWith('.gz')));
  const idxBytes = sum(files.filter((f) => f.endsWith('.idx')));
  const windowStart = log.startUs + SPAN_US * 0.37;
  const iso = (us: number) => new Date(us / 1000).toISOString();
  const query = ['query', '--dir', log.dir, '--job', 'bench-a', '--agent', 'agent-7'];
  query.push('--since', iso(windowStart), '--until', iso(windowStart + 600e6), '--stats');
  const seqs = Array.from({ length: 20 }, (_, i) => 1 + Math.floor(((i + 0.5) / 20) * (log.events / 4 - 1)));
  const indexed = { seconds: [] as number[], bytes: 0, lines: 0 };
  const scanned = { seconds: [] as number[], bytes: 0, lines: 0 };
  const showCli: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const [result, extra] of [
      [indexed, []],
      [scanned, ['--no-index']],
    ] as const) {
      const r = await run1(bin, [...query, ...extra]);
      result.seconds.push(r.seconds);
      result.bytes = Number(/(\d+) bytes read/.exec(r.stderr)?.[1]);
      result.lines = r.lines;
    }
    showCli.push(
      (await run1(bin, ['show', '--dir', log.dir, 'bench-a', `main:${seqs[run] ?? 1}`, '--json'])).seconds,
    );
  }
  if (indexed.lines !== scanned.lines)
    throw new Error(`indexed ${indexed.lines} events, scan ${scanned.lines}`);
  const filter = {
    dir: log.dir,
    jobs: ['bench-a'],
    agents: ['agent-7'],
    sinceUs: windowStart,
    untilUs: windowStart + 600e6,
  };
  const readIndexed: number[] = [];
  const readScanned: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    readIndexed.push(await timeMs(() => drain(readEvents(filter))));
    readScanned.push(await timeMs(() => drain(readEvents({ ...filter, noIndex: true }))));
  }
  const showIndexed: number[] = [];
  for (const seq of seqs)
    showIndexed.push(await timeMs(() => findEvent(log.dir, 'bench-a', { seq, stream: 'main' })));
  const showScan: number[] = [];
  for (const seq of seqs.slice(0, 5)) {
    showScan.push(
      await timeMs(() => findEvent(log.dir, 'bench-a', { seq, stream: 'main' }, { noIndex: true })),
    );
  }
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(3)}%`;
  const markdown = `
## Segments and indexes (\`npm run bench -- segments\`)

${machine()}. A log of ${gib(log.plainBytes)} (${log.events.toLocaleString('en-US')} events, ${JOBS.length} jobs × ${STREAMS.length} streams, ${AGENTS} agents, spanning 30 days) in sealed 100 MiB segments compressed to ${gib(gzBytes)} of multi-member gzip. Medians of ${RUNS} interleaved runs, warm page cache.

| | with the index | \`--no-index\` (scan) | ratio |
|---|---:|---:|---:|
| \`events query --job bench-a --agent agent-7\` over a 10-minute window (${indexed.lines} events): time | ${ms(median(indexed.seconds))} | ${ms(median(scanned.seconds))} | ${(median(scanned.seconds) / median(indexed.seconds)).toFixed(0)}× faster |
| the same through \`readEvents()\` in-process (no node start-up) | ${median(readIndexed).toFixed(1)} ms | ${median(readScanned).toFixed(0)} ms | ${(median(readScanned) / median(readIndexed)).toFixed(0)}× faster |
| bytes read from disk (of ${gib(gzBytes)} compressed) | ${(indexed.bytes / 1024).toFixed(0)} KiB (${pct(indexed.bytes, gzBytes)}) | ${gib(scanned.bytes)} | |
| \`findEvent\` (\`events show <job> <seq>\`) in-process, median of ${seqs.length} (scan: 5) seqs | ${median(showIndexed).toFixed(1)} ms | ${median(showScan).toFixed(0)} ms | ${(median(showScan) / median(showIndexed)).toFixed(0)}× |
| \`events show\` as a command (node start-up included) | ${ms(median(showCli))} | | |

A command's time includes about 140 ms of node start-up and module loading (\`events --version\` takes as long); the in-process rows show what the index itself does.

Index size: ${(idxBytes / 2 ** 20).toFixed(1)} MiB, ${pct(idxBytes, log.plainBytes)} of the data (${pct(idxBytes, gzBytes)} of the compressed files). Targets: the indexed query reads under 5% of the bytes and runs at least 20× faster than the scan; \`show\` answers in under 50 ms; the index is under 1% of the data.
`;
  process.stdout.write(markdown);
  writeSection('segments', markdown);
}

async function generate(): Promise<Generated> {
  const dir = path.join(os.tmpdir(), `mmm-events-bench-segments-${TARGET_MB}mb`);
  const marker = path.join(dir, 'generated.json');
  if (fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8')) as Generated;
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`generating a ${TARGET_MB} MB log in ${dir} (written, sealed, compressed) ...\n`);
  const streams = JOBS.flatMap((job) => STREAMS.map((stream) => ({ job, stream })));
  const perStreamBytes = (TARGET_MB * 2 ** 20) / streams.length;
  const startUs = Date.UTC(2026, 9, 1) * 1000;
  let plainBytes = 0;
  let events = 0;
  const compressing: Promise<unknown>[] = [];
  for (const { job, stream } of streams) {
    const jobDir = path.join(dir, job);
    await mkdirDurable(jobDir);
    const manifest = await ensureManifest(jobDir, job);
    let prev = genesisHash(manifest.log_id, stream);
    let seq = 0;
    let written = 0;
    const approxEvents = perStreamBytes / 300;
    while (written < perStreamBytes) {
      const file = path.join(jobDir, segmentFileName(stream, seq + 1));
      const parts: string[] = [];
      let segmentBytes = 0;
      while (segmentBytes < SEGMENT_BYTES && written + segmentBytes < perStreamBytes) {
        seq++;
        const record = recordFor(
          job,
          stream,
          seq,
          startUs + Math.floor((seq / approxEvents) * SPAN_US),
          prev,
        );
        const line = serializeRecord(record);
        prev = hashLine(line);
        parts.push(line + '\n');
        segmentBytes += line.length + 1;
      }
      fs.writeFileSync(file, parts.join(''));
      written += segmentBytes;
      events += parts.length;
      // Sealing and compression run on the thread pool while the next segment is built.
      compressing.push(sealSegment(file).then(() => compressSegment(file)));
      if (compressing.length >= 2) await compressing.shift();
    }
    plainBytes += written;
  }
  await Promise.all(compressing);
  const generated: Generated = { dir, plainBytes, events, startUs };
  fs.writeFileSync(marker, JSON.stringify(generated));
  return generated;
}

const STEPS = ['checkout', 'build', 'test', 'lint', 'package'];

function recordFor(job: string, stream: string, seq: number, tsUs: number, prev: string): EventRecord {
  const agent = `agent-${(seq * 7 + stream.length) % AGENTS}`;
  const item = `item-${String(Math.floor(seq / 7)).padStart(7, '0')}`;
  const base = {
    seq,
    ts: formatMicros(tsUs),
    id: `${job}-${stream}-${seq}`,
    job_id: job,
    stream,
    severity: 'info' as const,
    correlation_id: `${job}/${item}`,
    prev,
  };
  if (seq % 50 === 0) {
    return {
      ...base,
      event_type: 'agent_failed',
      severity: 'error',
      agent_id: agent,
      data: { item_id: item, error: `exit status ${seq % 7}: test suite failed`, retry_eligible: true },
    };
  }
  return {
    ...base,
    event_type: 'agent_progress',
    agent_id: agent,
    data: { item_id: item, step: STEPS[seq % STEPS.length] as string, progress_pct: seq % 101 },
  };
}

function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f));
}

function sum(files: string[]): number {
  return files.reduce((n, f) => n + fs.statSync(f).size, 0);
}

async function drain(events: AsyncIterable<unknown>): Promise<void> {
  for await (const event of events) void event;
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function run1(bin: string, args: string[]): Promise<{ seconds: number; lines: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`events ${args.join(' ')} exited ${code}: ${stderr}`));
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, lines, stderr });
    });
  });
}
