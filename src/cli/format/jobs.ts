import type { ChalkInstance } from 'chalk';
import { duration } from '../../format/summary.js';
import { humanBytes } from '../../format/truncate.js';
import type { JobRunState, JobStatus } from '../../read/job-status.js';
import { displayTime } from './event.js';
import { plainTable } from './table.js';

/** `events jobs`: a table of the jobs, their state coloured; nothing when there are none. */
export function formatJobs(jobs: JobStatus[], ctx: { chalk: ChalkInstance; utc: boolean }): string {
  if (jobs.length === 0) return '';
  const { chalk, utc } = ctx;
  const color: Record<JobRunState, (s: string) => string> = {
    running: chalk.cyan,
    completed: chalk.green,
    failed: chalk.red,
    paused: chalk.yellow,
    stopped: chalk.gray,
  };
  const table = plainTable(
    [
      'job',
      'status',
      'done/failed/total',
      'agents',
      'first event',
      'last event',
      'duration',
      'events',
      'size',
    ],
    chalk,
  );
  for (const j of jobs) {
    table.push([
      j.job,
      color[j.status](j.status),
      `${j.itemsDone}/${j.itemsFailed}/${j.itemsTotal ?? '?'}`,
      String(j.agents),
      j.firstTs === undefined ? '-' : displayTime(j.firstTs, utc),
      j.lastTs === undefined ? '-' : displayTime(j.lastTs, utc),
      duration(j.durationMs),
      String(j.events),
      humanBytes(j.bytes),
    ]);
  }
  return table.toString() + '\n';
}
