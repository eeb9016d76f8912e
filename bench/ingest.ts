import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The built library, the same code `bin/events.js ingest` runs (src/ may be ahead of dist/).
import { EventLog, type Durability } from '../dist/index.js';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- ingest` (issue 13): `events ingest` fed through a pipe, against append() in-process
 * on the same events in the same run. `INGEST_EVENTS` overrides the number of events (500,000).
 */
const RUNS = 5;
const BIN = path.join(ROOT, 'bin', 'events.js');
const TIME = '/usr/bin/time';
const CHUNK = 1024 * 1024;

const event = (i: number) =>
  ({
    event_type: 'agent_progress',
    agent_id: `agent-${i % 64}`,
    data: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
  }) as const;

interface Sample {
  seconds: number;
  rssMb: number;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-ingest-'));
}

/**
 * Runs `bin/events.js ingest` (executed directly, as a user would: its shebang adds the node flags),
 * writes `input` to its stdin in 1 MiB chunks, honouring backpressure, while counting the
 * acknowledgements on its stdout. Wall time from spawn to exit; peak RSS from `/usr/bin/time -f %M`
 * when it exists, else from polling VmHWM.
 */
async function runIngest(input: Buffer, count: number, durability: Durability): Promise<Sample> {
  const dir = tempDir();
  const rssFile = path.join(dir, 'rss');
  const useTime = fs.existsSync(TIME);
  const argv = [BIN, 'ingest', '--job', 'bench', '--dir', dir, '--durability', durability];
  try {
    const started = process.hrtime.bigint();
    const child = useTime
      ? spawn(TIME, ['-f', '%M', '-o', rssFile, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn(BIN, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    let hwmKb = NaN;
    const poll = useTime
      ? undefined
      : setInterval(() => {
          try {
            const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (hwm !== null) hwmKb = Number(hwm[1]);
          } catch {
            // exited between two polls
          }
        }, 20);
    let acks = 0;
    let tail = '';
    let errors = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) acks++;
      // The last few hundred bytes hold the last acknowledgement (ASCII), for the final check.
      tail = (tail + chunk.subarray(-512).toString('latin1')).slice(-512);
      if (chunk.includes('"error"')) errors++;
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    });
    const writing = (async () => {
      for (let offset = 0; offset < input.length; offset += CHUNK) {
        if (!child.stdin.write(input.subarray(offset, offset + CHUNK))) {
          await new Promise<void>((resolve, reject) => {
            const onDrain = () => {
              child.stdin.off('error', onError);
              resolve();
            };
            const onError = (err: Error) => {
              child.stdin.off('drain', onDrain);
              reject(err);
            };
            child.stdin.once('drain', onDrain).once('error', onError);
          });
        }
      }
      child.stdin.end();
    })();
    const [code] = await Promise.all([exited, writing]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (poll !== undefined) clearInterval(poll);
    if (code !== 0) throw new Error(`events ingest exited ${code}`);
    if (acks !== count || errors > 0) {
      throw new Error(`events ingest acknowledged ${acks} of ${count} lines (${errors} chunks with errors)`);
    }
    if (count > 0) {
      const lastLine = tail.trimEnd().split('\n').pop() ?? '';
      const ack = JSON.parse(lastLine) as { line: number; seq: number };
      if (ack.seq !== count || ack.line !== count) {
        throw new Error(`last acknowledgement ${lastLine}, expected line and seq ${count}`);
      }
    }
    const rssMb = useTime
      ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024
      : hwmKb / 1024;
    return { seconds, rssMb };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type Mode = 'all' | 'producers' | 'many';

/** append() in this process, fsync mode, a fresh log: open, append `count` events, close. */
async function runAppend(mode: Mode, count: number): Promise<Sample> {
  const dir = tempDir();
  try {
    const started = process.hrtime.bigint();
    const log = await EventLog.open({ dir, jobId: 'bench', durability: 'fsync' });
    let written = 0;
    let lastSeq = 0;
    if (mode === 'all') {
      const promises = new Array<Promise<{ seq: number }>>(count);
      for (let i = 0; i < count; i++) promises[i] = log.append(event(i));
      const receipts = await Promise.all(promises);
      written = receipts.length;
      lastSeq = receipts[count - 1]?.seq ?? 0;
    } else if (mode === 'producers') {
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < count) {
            const receipt = await log.append(event(next++));
            written++;
            lastSeq = Math.max(lastSeq, receipt.seq);
          }
        }),
      );
    } else {
      for (let start = 0; start < count; start += 1000) {
        const events = [];
        for (let i = start; i < Math.min(count, start + 1000); i++) events.push(event(i));
        const outcomes = await log.appendMany(events);
        for (const outcome of outcomes) {
          if (outcome instanceof Error) throw outcome;
          written++;
          lastSeq = outcome.seq;
        }
      }
    }
    await log.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (written !== count || lastSeq !== count) {
      throw new Error(`append (${mode}) wrote ${written} of ${count}, last seq ${lastSeq}`);
    }
    return { seconds, rssMb: NaN };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  name: string;
  what: string;
  run: () => Promise<Sample>;
  samples: Sample[];
}

export async function benchIngest(): Promise<void> {
  const count = Number(process.env.INGEST_EVENTS ?? 500_000);
  if (!Number.isInteger(count) || count < 1) throw new Error(`INGEST_EVENTS must be a positive integer`);
  const input = Buffer.from(
    Array.from({ length: count }, (_, i) => JSON.stringify(event(i)) + '\n').join(''),
    'utf8',
  );
  const empty = Buffer.alloc(0);
  const rows: Row[] = [
    {
      name: '`events ingest` with no input (start-up)',
      what: 'spawn to exit with stdin closed at once: node start-up, module loading, opening a new log',
      run: () => runIngest(empty, 0, 'fsync'),
      samples: [],
    },
    {
      name: '`events ingest`, fsync, through a pipe',
      what: 'spawn to exit, all acknowledgements read',
      run: () => runIngest(input, count, 'fsync'),
      samples: [],
    },
    {
      name: '`events ingest --durability write`, through a pipe',
      what: 'spawn to exit, all acknowledgements read',
      run: () => runIngest(input, count, 'write'),
      samples: [],
    },
    {
      name: 'append() in-process, fsync, all at once (`Promise.all`)',
      what: '`open()` to `close()`: every append issued, then all promises awaited',
      run: () => runAppend('all', count),
      samples: [],
    },
    {
      name: 'append() in-process, fsync, 64 producers',
      what: '`open()` to `close()`: 64 producers each awaiting its append before the next',
      run: () => runAppend('producers', count),
      samples: [],
    },
    {
      name: 'appendMany() in-process, fsync, groups of 1,000 one by one',
      what: '`open()` to `close()`: each group awaited before the next is issued',
      run: () => runAppend('many', count),
      samples: [],
    },
  ];
  // Interleaved, so that machine noise and the page cache treat every row alike.
  for (let run = 0; run < RUNS; run++) {
    for (const row of rows) {
      const sample = await row.run();
      row.samples.push(sample);
      process.stderr.write(
        `  ${row.name}: ${sample.seconds.toFixed(3)} s${Number.isNaN(sample.rssMb) ? '' : `, ${Math.round(sample.rssMb)} MB`}\n`,
      );
    }
  }
  const [startupRow, ingestFsync, ingestWrite] = rows as [Row, Row, Row, ...Row[]];
  const startup = median(startupRow.samples.map((s) => s.seconds));
  const rate = (row: Row, minus = 0) => median(row.samples.map((s) => count / (s.seconds - minus)));
  const fsyncRate = rate(ingestFsync);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rss = (row: Row) =>
    row.samples.some((s) => Number.isNaN(s.rssMb))
      ? '–'
      : `${Math.round(Math.max(...row.samples.map((s) => s.rssMb)))} MB`;
  const table = [
    '| measured | what the time covers | events/s (median of 5) | vs ingest fsync | peak RSS (max of 5) |',
    '|---|---|---:|---:|---:|',
    `| ${startupRow.name} | ${startupRow.what} | ${(startup * 1000).toFixed(0)} ms (no events) | – | ${rss(startupRow)} |`,
  ];
  for (const row of rows.slice(1)) {
    const r = rate(row);
    table.push(`| ${row.name} | ${row.what} | ${fmt(r)} | ${(r / fsyncRate).toFixed(2)}× | ${rss(row)} |`);
    if (row === ingestFsync || row === ingestWrite) {
      const net = rate(row, startup);
      table.push(
        `| ↳ the same, start-up excluded | spawn to exit minus the median start-up (${(startup * 1000).toFixed(0)} ms) | ${fmt(net)} | ${(net / fsyncRate).toFixed(2)}× | |`,
      );
    }
  }
  const inputMb = input.length / 2 ** 20;
  const markdown = `
## Ingest (issue 13)

Command: \`npm run bench -- ingest\` (\`INGEST_EVENTS\` sets the number of events). Machine: ${machine()}. Measured ${new Date().toISOString().slice(0, 10)}.

${fmt(count)} \`agent_progress\` events (${inputMb.toFixed(1)} MiB of JSON lines, about ${Math.round(input.length / count)} bytes each, 64 agents). \`bin/events.js ingest --job bench --dir <fresh temp dir>\` is executed directly, as a user runs it (its shebang gives node \`--max-semi-space-size=4\`), under \`/usr/bin/time -f %M\` for the peak RSS. The benchmark writes the events from one pre-built buffer to its stdin in 1 MiB chunks, waiting for \`drain\` when the pipe is full, while it reads and counts the acknowledgements on stdout; a run fails unless there is one per event, none is an error, and the last is \`{"line":${count},"seq":${count},…}\`. The ingest rows measure the wall time from spawn to exit, so they include node start-up (${(startup * 1000).toFixed(0)} ms, the first row: \`events ingest\` with an empty stdin into a new log); the "start-up excluded" rows subtract that median. The append() rows run in the benchmark's process on the built library (the code \`events ingest\` runs), on the same events built as objects (no JSON parsing), from \`open()\` to \`close()\` on a fresh temp dir, and check that the last seq is ${fmt(count)}. Each row is the median of ${RUNS} runs, interleaved in one process.

${table.join('\n')}

Target: \`events ingest\` in fsync mode at least 100,000 events/s through a pipe — ${fmt(fsyncRate)} (start-up included).
`;
  process.stdout.write(markdown);
  writeSection('ingest', markdown);
}
