import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLog } from '../src/index.js';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- query`: `events query` with a filter on event type and time over a generated log
 * of about 1 GB (BENCH_QUERY_MB), against `jq -c 'select(...)'` over the same files and `grep -c` as
 * the floor, in one run. The log is kept in the temp directory and reused by later runs.
 */
const TARGET_MB = Number(process.env.BENCH_QUERY_MB ?? 1024);
const JOBS = 4;
const STREAMS = 3;
const RUNS = 3;

interface Generated {
  dir: string;
  bytes: number;
  events: number;
  /** An ISO time in the middle of the log: `--since` keeps about the newer half. */
  middle: string;
}

export async function benchQuery(): Promise<void> {
  const log = await generate();
  const files = segmentFilesOf(log.dir);
  const since = log.middle;
  const kind = 'agent_failed';
  const commands: { name: string; argv: string[]; shell?: string }[] = [
    {
      name: '`events query`',
      argv: [
        path.join(ROOT, 'bin', 'events.js'),
        'query',
        '--dir',
        log.dir,
        '--kind',
        kind,
        '--since',
        since,
      ],
    },
    {
      name: '`events query --last 5`',
      argv: [path.join(ROOT, 'bin', 'events.js'), 'query', '--dir', log.dir, '--last', '5'],
    },
    {
      name: '`jq -c select(...)`',
      argv: [],
      shell: `cat ${files.join(' ')} | jq -c 'select(.event_type == "${kind}" and .ts >= "${since}")'`,
    },
    {
      name: '`grep -c` (floor)',
      argv: [],
      shell: `cat ${files.join(' ')} | grep -c '"event_type":"${kind}"'`,
    },
  ];
  const results = new Map<string, { seconds: number[]; rssMb: number[]; lines: number }>();
  for (let run = 0; run < RUNS; run++) {
    // Interleaved, so that the page cache and machine noise treat every command alike.
    for (const command of commands) {
      const outcome = await measure(command.shell ?? command.argv, command.shell !== undefined);
      const r = results.get(command.name) ?? { seconds: [], rssMb: [], lines: 0 };
      r.seconds.push(outcome.seconds);
      r.rssMb.push(outcome.rssMb);
      r.lines = outcome.lines;
      results.set(command.name, r);
      process.stderr.write(`  ${command.name}: ${outcome.seconds.toFixed(2)} s, ${outcome.lines} lines\n`);
    }
  }
  const eventsRun = results.get('`events query`');
  const jqRun = results.get('`jq -c select(...)`');
  if (eventsRun === undefined || jqRun === undefined) throw new Error('missing results');
  if (eventsRun.lines !== jqRun.lines) {
    throw new Error(`events query printed ${eventsRun.lines} events, jq ${jqRun.lines}: they must agree`);
  }
  const eventsSeconds = median(eventsRun.seconds);
  const rows = [...results].map(([name, r]) => {
    const seconds = median(r.seconds);
    const rss = r.rssMb.some(Number.isNaN) ? 'n/a' : `${Math.round(Math.max(...r.rssMb))} MB`;
    const ratio = seconds / eventsSeconds;
    const vs = name.includes('--last') ? '-' : `${ratio.toFixed(2)}×`;
    return `| ${name} | ${seconds.toFixed(2)} s | ${vs} | ${name.includes('events') ? rss : '-'} |`;
  });
  const markdown = `
## Query (\`npm run bench -- query\`)

${machine()}. A generated log of ${(log.bytes / 2 ** 30).toFixed(2)} GiB: ${log.events.toLocaleString('en-US')} events in ${JOBS} jobs of ${STREAMS} streams each, with segment indexes (128 KiB blocks). The selection: \`--kind ${kind} --since <middle of the log>\` (${eventsRun.lines.toLocaleString('en-US')} events); jq runs the same selection over the same files, \`grep -c\` only counts the type (the floor: reading the bytes). Medians of ${RUNS} interleaved runs with a warm page cache; RSS is the peak resident memory of the \`events\` process. No throughput is given: the index skips about half of this log, so the log's size over the time is not a rate of reading (an earlier version of this table gave one, 1,353 MB/s; the rate of a whole scan is in Scans below).

| command | time | time vs events | peak RSS |
|---|---:|---:|---:|
${rows.join('\n')}

Target: at least 3× faster than jq, RSS under 150 MB whatever the log size. How: the segment indexes let it skip the blocks before \`--since\` (and blocks without the wanted type or agent) without reading them; the rest is read in 256 KiB chunks into one reused buffer per stream and merged without an await per line; a line that cannot match by its text (the event type, severity or id it must contain) is not parsed; \`bin/events.js\` runs node with a 4 MB young generation. \`--last N\` reads the blocks of each stream backwards from the newest, so it costs the same on any size of log.
`;
  process.stdout.write(markdown);
  writeSection('query', markdown);
}

export async function generate(): Promise<Generated> {
  const dir = path.join(os.tmpdir(), `mmm-events-bench-query-${TARGET_MB}mb`);
  const marker = path.join(dir, 'generated.json');
  if (fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8')) as Generated;
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`generating a ${TARGET_MB} MB log in ${dir} ...\n`);
  const logs: EventLog[] = [];
  for (let j = 0; j < JOBS; j++) {
    for (let s = 0; s < STREAMS; s++) {
      logs.push(
        await EventLog.open({ dir, jobId: `bench-job-${j}`, stream: `worker-${s}`, durability: 'buffered' }),
      );
    }
  }
  const target = TARGET_MB * 2 ** 20;
  let bytes = 0;
  let events = 0;
  let middle = '';
  for (let i = 0; bytes < target; i++) {
    const log = logs[i % logs.length] as EventLog;
    const receipt = await log.append(eventNumber(i));
    events++;
    bytes += 330; // about a line; the real size is measured below
    if (middle === '' && bytes >= target / 2) middle = receipt.ts;
    if (i % 10_000 === 0) await log.flush();
  }
  await Promise.all(logs.map((log) => log.close()));
  const actual = segmentFilesOf(dir).reduce((sum, f) => sum + fs.statSync(f).size, 0);
  const generated: Generated = { dir, bytes: actual, events, middle };
  fs.writeFileSync(marker, JSON.stringify(generated));
  return generated;
}

const STEPS = ['checkout', 'build', 'test', 'lint', 'package'];

/** A realistic mix: mostly progress, some lifecycle, about 2% failures. */
function eventNumber(i: number): Parameters<EventLog['append']>[0] {
  const agent = `agent-${i % 16}`;
  const item = `item-${String(Math.floor(i / 7)).padStart(7, '0')}`;
  switch (i % 50) {
    case 0:
      return {
        event_type: 'agent_failed',
        agent_id: agent,
        data: {
          item_id: item,
          error: `exit status ${i % 7}: test suite failed (${i % 13} of 72 tests)`,
          retry_eligible: i % 3 !== 0,
        },
      };
    case 1:
      return {
        event_type: 'agent_started',
        agent_id: agent,
        data: { item_id: item, worktree: `wt-${item}`, attempt: 1 },
      };
    case 2:
      return {
        event_type: 'agent_completed',
        agent_id: agent,
        data: { item_id: item, duration_ms: 1000 + (i % 9000), commits: ['3f2a9c1'] },
      };
    case 3:
      return {
        event_type: 'queue_depth_changed',
        data: { pending: i % 1000, active: 16, completed: i },
      };
    default:
      return {
        event_type: 'agent_progress',
        agent_id: agent,
        data: { item_id: item, step: STEPS[i % STEPS.length] as string, progress_pct: i % 101 },
      };
  }
}

function segmentFilesOf(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      fs
        .readdirSync(path.join(dir, d.name))
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => path.join(dir, d.name, f)),
    )
    .sort();
}

/** Runs a command, counting its output lines; peak RSS from /proc (NaN where there is none). */
export function measure(
  command: string[] | string,
  shell: boolean,
): Promise<{ seconds: number; rssMb: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = shell
      ? spawn('bash', ['-o', 'pipefail', '-c', command as string], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn((command as string[])[0] as string, (command as string[]).slice(1), {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
    let lines = 0;
    let last = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      last = chunk.toString('utf8').trim().split('\n').pop() ?? last;
    });
    let rssKb = NaN;
    const poll = setInterval(() => {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm !== null) rssKb = Number(hwm[1]);
      } catch {
        // exited between two polls
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0 && !(shell && code === 1)) return reject(new Error(`${String(command)} exited ${code}`));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // grep -c prints a count, not lines.
      resolve({
        seconds,
        rssMb: rssKb / 1024,
        lines: /grep -c/.test(String(command)) ? Number(last) : lines,
      });
    });
  });
}
