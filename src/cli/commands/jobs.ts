import type { Command } from 'commander';
import type { ReadStats } from '../../storage/line-reader.js';
import { jobStatus, type JobRunState, type JobStatus } from '../../read/job-status.js';
import { listJobsToRead } from '../../storage/jobs-dir.js';
import { locateEventsDir } from '../../read/locate.js';
import { parseTimeArg } from '../../format/time-parse.js';
import { parseMicros } from '../../format/clock.js';
import { formatJobs } from '../format/jobs.js';
import type { Output } from '../io.js';
import { choiceArg, dirOption, integerArg } from '../options.js';
import { reportSkipped } from '../report-skipped.js';

const STATES: readonly JobRunState[] = ['running', 'completed', 'failed', 'paused', 'stopped'];

export interface JobsFlags {
  dir?: string;
  since?: string;
  status?: JobRunState;
  limit?: number;
  json?: boolean;
  utc?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option('--since <time>', 'only jobs active since this time (15m, 2d, today, 2026-11-22, ...)')
    .option(
      '--status <state>',
      `only jobs in this state: ${STATES.join(', ')}`,
      choiceArg('--status', STATES),
    )
    .option('--limit <n>', 'at most this many jobs', integerArg('--limit', 1, 1_000_000))
    .option('--utc', 'print times in UTC')
    .option('--json', 'print JSON')
    .action(async (flags: JobsFlags) => {
      const { jobs, unreadable } = await runJobs(flags, output);
      output.out(
        flags.json === true
          ? JSON.stringify(jobs, null, 2) + '\n'
          : formatJobs(jobs, { chalk: output.chalk, utc: flags.utc === true }),
      );
      reportSkipped(new Map([...unreadable, ...skippedOf(jobs)]), output);
    });
}

/** The rows, and the job directories that could not be listed (no LOG.json): said on stderr. */
export async function runJobs(
  flags: JobsFlags,
  output: Output,
): Promise<{ jobs: JobStatus[]; unreadable: Map<string, ReadStats> }> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const sinceUs =
    flags.since === undefined ? undefined : parseTimeArg('--since', flags.since, { utc: flags.utc });
  const rows: JobStatus[] = [];
  const unreadable = new Map<string, ReadStats>();
  for (const job of await listJobsToRead(dir, unreadable)) rows.push(await jobStatus(dir, job));
  const jobs = rows
    .filter((r) => flags.status === undefined || r.status === flags.status)
    .filter((r) => sinceUs === undefined || (r.lastTs !== undefined && parseMicros(r.lastTs) >= sinceUs))
    .sort((a, b) => (b.lastTs ?? '').localeCompare(a.lastTs ?? '') || a.job.localeCompare(b.job))
    .slice(0, flags.limit);
  return { jobs, unreadable };
}

/**
 * What reading each listed job skipped, as the readers' stats: from the summary, so a row served from
 * `index.json` warns as the read that made it did (issue 11).
 */
function skippedOf(jobs: JobStatus[]): Map<string, ReadStats> {
  return new Map(
    jobs.map((j) => [
      j.job,
      { corrupt: j.corrupt, tornTail: false, damaged: j.damaged, indexProblems: j.indexProblems },
    ]),
  );
}
