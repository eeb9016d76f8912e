import type { ChalkInstance } from 'chalk';
import type { Stats } from '../../insight/stats.js';
import { sparkline } from './sparkline.js';
import { duration } from '../../format/summary.js';
import { displayTime } from './event.js';
import { plainTable } from './table.js';
import { visible } from './visible.js';

const ms = (value: number | undefined) => (value === undefined ? '-' : duration(Math.round(value)));
const pct = (value: number | undefined) => (value === undefined ? '-' : `${(value * 100).toFixed(1)}%`);
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${visible(k)} ${n}`)
    .join(', ');

/** The figures of one set of events (a job, or all of them), as text; what came from events escaped. */
export function formatStats(
  title: string,
  stats: Stats,
  ctx: { chalk: ChalkInstance; utc: boolean },
): string {
  const { chalk } = ctx;
  const time = (ts: string | undefined) => (ts === undefined ? '-' : displayTime(ts, ctx.utc));
  const d = stats.durationsMs;
  const peak = Math.max(0, ...stats.throughput.buckets.map((b) => b.events));
  const per = stats.throughput.bucketMinutes === 1 ? 'minute' : `${stats.throughput.bucketMinutes} minutes`;
  const lines = [
    chalk.bold(visible(title)),
    `  events:     ${stats.events} from ${time(stats.firstTs)} to ${time(stats.lastTs)}`,
    `  by type:    ${counts(stats.byType)}`,
    `  severity:   ${counts(stats.bySeverity)}`,
    `  items:      ${stats.items.succeeded} succeeded, ${stats.items.failed} failed (success rate ${pct(stats.items.successRate)})`,
    `  attempts:   ${stats.attempts.completed} completed, ${stats.attempts.failed} failed, ${stats.attempts.retried} retried (backoff ${ms(stats.backoff.totalMs)} in all)`,
    `  durations:  p50 ${ms(d.p50)}, p90 ${ms(d.p90)}, p99 ${ms(d.p99)}, max ${ms(d.max)}, mean ${ms(d.mean)} (${d.count} completed attempts; percentiles within 1%)`,
    `  throughput: peak ${peak} events per ${per}  ${sparkline(stats.throughput.buckets.map((b) => b.events))}`,
    `  peaks:      queue ${stats.maxQueue === undefined ? '-' : `${stats.maxQueue.pending} pending, ${stats.maxQueue.active} active`}; memory ${stats.maxMemoryMb === undefined ? '-' : `${stats.maxMemoryMb.used} of ${stats.maxMemoryMb.limit} MB`}`,
  ];
  const busiest = stats.agents.slice(0, 3);
  if (busiest.length > 0) {
    lines.push(`  busiest:    ${busiest.map((a) => `${visible(a.agent)} (${a.events} events)`).join(', ')}`);
    const slowest = [...stats.agents]
      .filter((a) => a.meanMs !== undefined)
      .sort((a, b) => (b.meanMs ?? 0) - (a.meanMs ?? 0))
      .slice(0, 3);
    lines.push(
      `  slowest:    ${slowest.map((a) => `${visible(a.agent)} (mean ${ms(a.meanMs)})`).join(', ') || '-'}`,
    );
  }
  if (stats.topErrors.length > 0) {
    lines.push('  top errors:');
    for (const e of stats.topErrors.slice(0, 5)) {
      lines.push(
        `    ${String(e.count).padStart(5)}× ${visible(e.message)}`,
        chalk.dim(`           e.g. ${visible(e.example)}`),
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** One row per job, for stats over several. */
export function formatJobsTable(jobs: Record<string, Stats>, chalk: ChalkInstance): string {
  const table = plainTable(
    ['job', 'events', 'succeeded', 'failed', 'success', 'p50', 'p99', 'errors'],
    chalk,
  );
  for (const [job, s] of Object.entries(jobs).sort((a, b) =>
    (a[1].lastTs ?? '').localeCompare(b[1].lastTs ?? ''),
  )) {
    const errors = s.topErrors.reduce((n, e) => n + e.count, 0);
    table.push([
      visible(job),
      s.events,
      s.items.succeeded,
      s.items.failed,
      pct(s.items.successRate),
      ms(s.durationsMs.p50),
      ms(s.durationsMs.p99),
      errors,
    ]);
  }
  return table.toString() + '\n';
}
