import path from 'node:path';
import { generate, measure } from './query.js';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- stats`: `events stats` over about 0.8 and 1.6 million events of the query
 * benchmark's log: time and peak RSS (which must not grow with the number of events).
 */
export async function benchStats(): Promise<void> {
  const log = await generate();
  const bin = path.join(ROOT, 'bin', 'events.js');
  const cases = [
    { jobs: ['bench-job-0'], events: log.events / 4 },
    { jobs: ['bench-job-0', 'bench-job-1'], events: log.events / 2 },
    { jobs: ['bench-job-0', 'bench-job-1', 'bench-job-2', 'bench-job-3'], events: log.events },
  ];
  const rows: string[] = [];
  for (const c of cases) {
    const seconds: number[] = [];
    const rss: number[] = [];
    for (let run = 0; run < 3; run++) {
      const r = await measure(
        [bin, 'stats', '--dir', log.dir, ...c.jobs.flatMap((j) => ['--job', j]), '--json'],
        false,
      );
      seconds.push(r.seconds);
      rss.push(r.rssMb);
    }
    rows.push(
      `| ${c.jobs.length} | ${Math.round(c.events).toLocaleString('en-US')} | ${median(seconds).toFixed(2)} s | ${Math.round(c.events / median(seconds)).toLocaleString('en-US')} | ${Math.round(Math.max(...rss))} MB |`,
    );
  }
  const markdown = `
## Stats (\`npm run bench -- stats\`)

${machine()}. \`events stats --job ... --json\` over the query benchmark's log (every event read and parsed, none skipped). Medians of 3 runs; peak RSS of the process.

| jobs | events | time | events/s | peak RSS |
|---:|---:|---:|---:|---:|
${rows.join('\n')}

Target: 1,000,000 events in under 3 s, memory flat in the number of events. Percentiles come from a log-bucketed histogram (1% buckets: fixed memory, within 1% of exact); counts, sums, min and max are exact.
`;
  process.stdout.write(markdown);
  writeSection('stats', markdown);
}
