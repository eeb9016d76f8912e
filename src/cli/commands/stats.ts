import type { Command } from 'commander';
import path from 'node:path';
import { mkdirDurable, writeFileAtomic } from '../../core/fsutil.js';
import { computeStats, type Stats } from '../../core/insight/stats.js';
import { locateEventsDir } from '../../core/read/locate.js';
import { readEvents } from '../../core/read/reader.js';
import { parseTimeArg } from '../../core/read/time-parse.js';
import { formatJobsTable, formatStats } from '../format/stats.js';
import type { Output } from '../io.js';
import { dirOption } from '../options.js';
import { reportSkipped } from '../report-skipped.js';

export interface StatsFlags {
  dir?: string;
  job: string[];
  since?: string;
  until?: string;
  utc?: boolean;
  json?: boolean;
  save?: boolean;
}

/** The schema id of `--save` files (docs/cli.md). */
export const METRICS_SCHEMA = 'mmm-events/metrics/1';

export function registerStats(program: Command, output: Output): void {
  program
    .command('stats')
    .description(
      'figures for a job or every job in a window: events, outcomes, durations, throughput, errors',
    )
    .addOption(dirOption())
    .option('--job <id>', 'only this job (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--since <time>', 'from this time (as query takes it)')
    .option('--until <time>', 'before this time')
    .option('--utc', 'read and print times in UTC')
    .option('--json', 'print the figures as JSON')
    .option('--save', 'also write them to global/metrics-<date>.json')
    .action(async (flags: StatsFlags) => {
      await runStats(flags, output);
    });
}

export async function runStats(
  flags: StatsFlags,
  output: Output,
): Promise<{ total: Stats; jobs: Record<string, Stats> }> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env });
  const utc = flags.utc === true;
  const sinceUs = flags.since === undefined ? undefined : parseTimeArg('--since', flags.since, { utc });
  const untilUs = flags.until === undefined ? undefined : parseTimeArg('--until', flags.until, { utc });
  const reader = readEvents({ dir, jobs: flags.job, sinceUs, untilUs });
  const result = await computeStats(reader);
  const document = {
    schema: METRICS_SCHEMA,
    generated: new Date().toISOString(),
    window: {
      since: sinceUs === undefined ? null : new Date(sinceUs / 1000).toISOString(),
      until: untilUs === undefined ? null : new Date(untilUs / 1000).toISOString(),
    },
    ...result,
  };
  if (flags.save === true) {
    const file = path.join(dir, 'global', `metrics-${document.generated.slice(0, 10)}.json`);
    await mkdirDurable(path.dirname(file));
    await writeFileAtomic(file, JSON.stringify(document, null, 2) + '\n');
    output.err(`saved ${file}\n`);
  }
  if (flags.json === true) {
    output.out(JSON.stringify(document, null, 2) + '\n');
  } else {
    const ctx = { chalk: output.chalk, utc };
    const jobs = Object.keys(result.jobs);
    if (jobs.length > 1) output.out(formatJobsTable(result.jobs, output.chalk) + '\n');
    output.out(
      formatStats(jobs.length === 1 ? `Job ${jobs[0] ?? ''}` : `All ${jobs.length} jobs`, result.total, ctx),
    );
  }
  reportSkipped(reader.stats, output);
  return result;
}
