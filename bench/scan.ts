import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- scan` (issue 15): reading a whole log, side by side in one run with the tools a
 * user would otherwise reach for. The log is written by `events demo` (SCAN_ITEMS work items, about
 * 11 events each) and kept in the temp directory for later runs. Every row runs the commands as a user
 * would, from spawn to exit, with stdout to a pipe that is counted; each row is the median of RUNS.
 */
const ITEMS = Number(process.env.SCAN_ITEMS ?? 100_000);
const RUNS = 3;
const BIN = path.join(ROOT, 'bin', 'events.js');
const TIME = '/usr/bin/time';

interface Log {
  dir: string;
  job: string;
  files: string[];
  /** Bytes of the segment files on disk (gzip ones compressed). */
  diskBytes: number;
  /** Bytes of the log's lines, uncompressed. */
  plainBytes: number;
  events: number;
}

interface Row {
  name: string;
  what: string;
  shell: string;
  /** Bytes the tool reads, for its throughput (undefined: no throughput is given). */
  bytes?: number;
  /** The row's output lines must equal the `events query` row's (the same events found). */
  sameLines?: boolean;
}

function sh(command: string, timeoutS = 600): { seconds: number; stdout: string; rssMb: number } {
  const rssFile = path.join(os.tmpdir(), `mmm-bench-scan-rss-${process.pid}`);
  const started = process.hrtime.bigint();
  const run = spawnSync(TIME, ['-f', '%M', '-o', rssFile, 'bash', '-c', command], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: timeoutS * 1000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.error !== undefined) throw run.error;
  if (run.status !== 0) throw new Error(`${command} exited ${run.status}: ${run.stderr.slice(0, 500)}`);
  const rssMb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024;
  return { seconds, stdout: run.stdout, rssMb };
}

function generate(): Log {
  const dir = path.join(os.tmpdir(), `mmm-bench-scan-${ITEMS}`);
  const job = 'scan';
  const jobDir = path.join(dir, job);
  if (!fs.existsSync(path.join(jobDir, 'LOG.json'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`writing the demo log (${ITEMS} items) into ${dir}...\n`);
    execFileSync(
      process.execPath,
      [
        BIN,
        'demo',
        '--dir',
        dir,
        '--job',
        job,
        '--items',
        String(ITEMS),
        '--agents',
        '8',
        '--seed',
        '15',
        '--speed',
        '0',
        '--durability',
        'write',
        '--json',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  const files = fs
    .readdirSync(jobDir)
    .filter((f) => /\.jsonl(\.gz)?$/.test(f))
    .map((f) => path.join(jobDir, f))
    .sort();
  const diskBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  const plainBytes = Number(sh(`zcat -f ${files.join(' ')} | wc -c`).stdout.trim());
  const events = Number(sh(`zcat -f ${files.join(' ')} | wc -l`).stdout.trim());
  return { dir, job, files, diskBytes, plainBytes, events };
}

const count = (command: string) => `${command} | wc -l`;

export async function benchScan(): Promise<void> {
  const log = generate();
  const files = log.files.join(' ');
  const gz = log.files.filter((f) => f.endsWith('.gz')).length;
  const events = `${BIN} --no-color`;
  const filter = `--dir ${log.dir} --kind agent_failed --agent agent-3`;
  const rows: Row[] = [
    {
      name: '`events query --kind agent_failed --agent agent-3 -o jsonl`',
      what: 'a full scan: every block holds both the type and the agent, so the index skips nothing',
      shell: count(`${events} query ${filter} -o jsonl`),
      bytes: log.plainBytes,
    },
    {
      name: '`rg -z` (the floor)',
      what: 'the same lines by a regex on the raw text, decompressing the `.gz` segments',
      shell: count(
        `rg -z --no-filename '"event_type":"agent_failed","severity":"[a-z]+","agent_id":"agent-3"' ${files}`,
      ),
      bytes: log.plainBytes,
      sameLines: true,
    },
    {
      name: '`zcat -f \\| jq -c select(...)`',
      what: 'the same events, parsed as JSON by jq',
      shell: count(
        `zcat -f ${files} | jq -c 'select(.event_type == "agent_failed" and .agent_id == "agent-3")'`,
      ),
      bytes: log.plainBytes,
      sameLines: true,
    },
    {
      name: '`events query -o jsonl` (all events)',
      what: 'every event printed',
      shell: count(`${events} query --dir ${log.dir} -o jsonl`),
      bytes: log.plainBytes,
    },
    {
      name: '`events export --format csv` (all events)',
      what: 'every event as CSV',
      shell: count(`${events} export --dir ${log.dir} --format csv`),
      bytes: log.plainBytes,
    },
    {
      name: '`events stats`',
      what: 'the figures of the whole log',
      shell: `${events} stats --dir ${log.dir} --json > /dev/null`,
    },
    {
      name: '`events verify`',
      what: 'every line, the chain and every seal checked',
      shell: `${events} verify --dir ${log.dir} > /dev/null`,
      bytes: log.plainBytes,
    },
    {
      name: '`events index --rebuild`',
      what: 'every segment index written again from its segment',
      shell: `${events} index --rebuild --dir ${log.dir} > /dev/null`,
      bytes: log.plainBytes,
    },
    {
      name: '`events jobs`, cold',
      what: "the job's summary computed from its log (its cache, index.json, deleted first)",
      shell: `rm -f ${path.join(log.dir, log.job, 'index.json')} && ${events} jobs --dir ${log.dir} > /dev/null`,
    },
  ];
  const results = new Map<string, { seconds: number[]; rss: number[]; lines: string }>();
  for (let run = 0; run < RUNS; run++) {
    for (const row of rows) {
      const r = results.get(row.name) ?? { seconds: [], rss: [], lines: '' };
      try {
        const out = sh(row.shell);
        r.seconds.push(out.seconds);
        r.rss.push(out.rssMb);
        r.lines = out.stdout.trim();
      } catch (err) {
        r.lines = `failed: ${(err as Error).message.slice(0, 120)}`;
      }
      results.set(row.name, r);
    }
  }
  const reference = results.get(rows[0]?.name ?? '')?.lines;
  for (const row of rows.filter((r) => r.sameLines === true)) {
    const lines = results.get(row.name)?.lines;
    if (lines !== reference) throw new Error(`${row.name} found ${lines} lines, events query ${reference}`);
  }
  const floor = median(results.get(rows[1]?.name ?? '')?.seconds ?? []);
  const lines = [
    '## Scans (issue 15)',
    '',
    `Command: \`npm run bench -- scan\` (\`SCAN_ITEMS\` sets the size). Machine: ${machine()}. Measured ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `The log: \`events demo --items ${ITEMS} --agents 8 --seed 15 --speed 0\`, ${log.events.toLocaleString('en-US')} events in ${log.files.length} segments (${gz} of them gzip), ${(log.plainBytes / 1e6).toFixed(0)} MB of lines (${(log.diskBytes / 1e6).toFixed(0)} MB on disk). Warm page cache. Each row runs from spawn to exit with stdout into a pipe that \`wc -l\` counts (the rows marked "same lines" must count what \`events query\` found, or the benchmark fails); the median of ${RUNS} runs, rows interleaved; peak RSS by \`/usr/bin/time\` (of the whole pipeline's largest process). MB/s divides the log's uncompressed bytes by the time: every row reads all of them.`,
    '',
    '| measured | what it does | lines out | median s | MB/s | vs `rg -z` | peak RSS |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const r = results.get(row.name);
    if (r === undefined || r.seconds.length === 0) {
      lines.push(`| ${row.name} | ${row.what} | ${r?.lines ?? ''} | – | – | – | – |`);
      continue;
    }
    const s = median(r.seconds);
    const rate = row.bytes === undefined ? '–' : (row.bytes / 1e6 / s).toFixed(0);
    const vsFloor = row.bytes === undefined ? '–' : `${(s / floor).toFixed(2)}×`;
    const out = /^\d+$/.test(r.lines) ? Number(r.lines).toLocaleString('en-US') : '–';
    lines.push(
      `| ${row.name} | ${row.what} | ${out} | ${s.toFixed(2)} | ${rate} | ${vsFloor} | ${Math.max(...r.rss).toFixed(0)} MB |`,
    );
  }
  lines.push(
    '',
    "Not in the table: DuckDB is not installed here (issue 17 brings `@duckdb/node-api`); lnav (Debian's, headless: `lnav -n -c ':filter-in …'`) reads these lines as no log format it knows, and found none of them: it needs the format definition that issue 17 adds.",
  );
  const markdown = lines.join('\n');
  process.stdout.write(markdown + '\n');
  writeSection('scan', markdown);
}
