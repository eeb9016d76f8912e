import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- startup` (issue 15): how long a command takes from spawn to exit on a small log,
 * against `node -e 0` on the same runtime, on Node 20 (this machine's) and Node 24 (the current LTS,
 * from the npm registry), interleaved in one run. `events` is run as its shebang runs it.
 */
const ROUNDS = 21;
const BIN = path.join(ROOT, 'bin', 'events.js');
/** The CLI as tsc builds it, module by module (dist/cli): what the bundle (dist/bin) replaced. */
const UNBUNDLED = path.join(ROOT, 'bench', 'unbundled-events.js');

interface Row {
  label: string;
  argv: string[];
}

function node24(): string | undefined {
  try {
    return execFileSync('npx', ['-y', '-p', 'node@24', 'node', '-p', 'process.execPath'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** A log of 3 small jobs, as `events emit` writes them. */
function smallLog(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-startup-'));
  for (const job of ['nightly-1', 'nightly-2', 'nightly-3']) {
    execFileSync(process.execPath, [BIN, 'emit', '--job', job, '--dir', dir, 'note', 'n=1']);
  }
  return dir;
}

function timeMs(node: string, argv: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(node, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (run.status !== 0) throw new Error(`${argv.join(' ')} exited ${run.status}: ${String(run.stderr)}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function benchStartup(): Promise<void> {
  fs.writeFileSync(
    UNBUNDLED,
    `import { main } from '../dist/cli/main.js';\nprocess.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });\n`,
  );
  const dir = smallLog();
  const flags = ['--max-semi-space-size=4'];
  const rows: Row[] = [
    { label: '`node -e 0`', argv: ['-e', '0'] },
    { label: '`events --version`', argv: [...flags, BIN, '--version'] },
    { label: '`events jobs` (3 small jobs)', argv: [...flags, BIN, 'jobs', '--dir', dir] },
    { label: '`events query` (3 events)', argv: [...flags, BIN, 'query', '--dir', dir] },
    { label: '`events --version`, unbundled (dist/cli)', argv: [...flags, UNBUNDLED, '--version'] },
    { label: '`events jobs`, unbundled (dist/cli)', argv: [...flags, UNBUNDLED, 'jobs', '--dir', dir] },
  ];
  const runtimes: [string, string][] = [[`Node ${process.versions.node}`, process.execPath]];
  const n24 = node24();
  if (n24 !== undefined)
    runtimes.push([
      `Node ${execFileSync(n24, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()}`,
      n24,
    ]);
  const samples = new Map<string, number[]>();
  try {
    for (const [, node] of runtimes) for (const row of rows) timeMs(node, row.argv); // warm the page cache and compile caches
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, node] of runtimes) {
        for (const row of rows) {
          const key = `${name}\t${row.label}`;
          samples.set(key, [...(samples.get(key) ?? []), timeMs(node, row.argv)]);
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(UNBUNDLED, { force: true });
  }
  const lines = [
    '## Start-up (issue 15)',
    '',
    `Command: \`npm run bench -- startup\`. Machine: ${machine()}. Measured ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `Each row is the median of ${ROUNDS} runs from spawn to exit, the rows run in turn (interleaved) after one warm-up run each; \`events\` is run as its shebang runs it (\`node --max-semi-space-size=4 bin/events.js\`) on a log of 3 jobs of one event each. "vs node -e 0" divides by the first row of the same runtime. Node 24 comes from the npm registry (\`npx -p node@24\`); its compile cache (\`module.enableCompileCache()\`, Node 22.1 and newer) is warm after the first run. The "unbundled" rows run the same CLI as tsc builds it, one file per module (dist/cli), as it was before the bundle.`,
    '',
    '| runtime | measured | median ms | vs node -e 0 |',
    '|---|---|---:|---:|',
  ];
  for (const [name] of runtimes) {
    const base = median(samples.get(`${name}\t${rows[0]?.label}`) ?? []);
    for (const row of rows) {
      const ms = median(samples.get(`${name}\t${row.label}`) ?? []);
      lines.push(`| ${name} | ${row.label} | ${ms.toFixed(0)} | ${(ms / base).toFixed(2)}× |`);
    }
  }
  if (n24 === undefined) lines.push('', 'Node 24 could not be fetched with npx: its rows are missing.');
  const markdown = lines.join('\n');
  process.stdout.write(markdown + '\n');
  writeSection('startup', markdown);
}
