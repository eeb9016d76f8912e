import type { Command } from 'commander';
import path from 'node:path';
import { mkdirDurable, writeFileAtomic } from '../../storage/fsutil.js';
import { computeStats, type Stats } from '../../insight/stats.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents } from '../../read/reader.js';
import { formatJobsTable, formatStats } from '../format/stats.js';
import type { Output } from '../io.js';
import { dirOption, jobsOption } from '../options.js';
import { addWindowOptions, parseWindow, type WindowFlags } from '../filter-options.js';
import { reportSkipped } from '../report-skipped.js';
import { GLOBAL_DIR, metricsFileName } from '../../format/paths.js';

export interface StatsFlags extends WindowFlags {
  dir?: string;
  job: string[];
  json?: boolean;
  save?: boolean;
}

/** The schema id of `--save` files (docs/cli.md). */
export const METRICS_SCHEMA = 'mmm-events/metrics/1';

export function configure(command: Command, output: Output): void {
  command.addOption(dirOption()).addOption(jobsOption());
  addWindowOptions(command)
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
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const utc = flags.utc === true;
  const { sinceUs, untilUs } = parseWindow(flags);
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
    const file = path.join(dir, GLOBAL_DIR, metricsFileName(document.generated.slice(0, 10)));
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
