import type { ChalkInstance } from 'chalk';
import type { ErrorReport } from '../../insight/errors.js';
import { displayTime } from './event.js';
import { visible } from './visible.js';

/** `events errors`: the groups as text; messages, ids and the example come from events, so escaped. */
export function formatErrors(report: ErrorReport, ctx: { chalk: ChalkInstance; utc: boolean }): string {
  const { chalk, utc } = ctx;
  if (report.failures === 0) return 'no failures\n';
  const lines = [`${report.failures} failures in ${report.groups.length} groups`];
  const list = (values: string[]) =>
    visible(
      values.length <= 4
        ? values.join(', ')
        : `${values.slice(0, 4).join(', ')} and ${values.length - 4} more`,
    );
  for (const g of report.groups) {
    lines.push(
      '',
      `${chalk.red(`${g.count}×`)} ${chalk.bold(visible(g.message))}`,
      `    ${visible(g.eventTypes.join(', '))}; first ${displayTime(g.firstSeen, utc)}, last ${displayTime(g.lastSeen, utc)}`,
      `    jobs: ${list(g.jobs)}; agents: ${list(g.agents) || '-'}; items: ${list(g.items) || '-'}`,
      `    retried and then succeeded: ${g.recovered} of ${g.count}`,
      chalk.dim(
        `    e.g. ${visible(`${g.example.job_id} ${g.example.stream}:${g.example.seq}: ${JSON.stringify(g.example.data)}`)}`,
      ),
    );
  }
  for (const s of report.spikes) {
    lines.push(
      '',
      chalk.yellow(
        `spike: ${s.failures} failures in job ${visible(s.job)} in the minute from ${s.minute} (usually ${s.usualPerMinute.toFixed(1)} a minute)`,
      ),
    );
  }
  return lines.join('\n') + '\n';
}
