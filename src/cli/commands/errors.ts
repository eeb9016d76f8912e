import type { Command } from 'commander';
import { groupErrors, type ErrorReport } from '../../insight/errors.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents } from '../../read/reader.js';
import { displayTime } from '../format/event.js';
import { visible } from '../format/visible.js';
import type { Output } from '../io.js';
import { dirOption, jobsOption } from '../options.js';
import { addWindowOptions, parseWindow, type WindowFlags } from '../filter-options.js';
import { reportSkipped } from '../report-skipped.js';

export interface ErrorsFlags extends WindowFlags {
  dir?: string;
  job: string[];
  json?: boolean;
}

export function registerErrors(program: Command, output: Output): void {
  const command = program
    .command('errors')
    .description('failures grouped by cause (numbers, ids, paths and hashes masked), with spikes flagged')
    .addOption(dirOption())
    .addOption(jobsOption());
  addWindowOptions(command)
    .option('--json', 'print the groups as JSON')
    .action(async (flags: ErrorsFlags) => {
      await runErrors(flags, output);
    });
}

export async function runErrors(flags: ErrorsFlags, output: Output): Promise<ErrorReport> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const utc = flags.utc === true;
  const reader = readEvents({
    dir,
    jobs: flags.job,
    ...parseWindow(flags),
    // Completions too: they tell whether a failed item was retried successfully.
    kinds: ['agent_failed', 'job_failed', 'checkpoint_failed', 'agent_completed'],
  });
  const report = await groupErrors(reader);
  if (flags.json === true) output.out(JSON.stringify(report, null, 2) + '\n');
  else output.out(formatErrors(report, output, utc));
  reportSkipped(reader.stats, output);
  return report;
}

/** The groups as text; messages, ids and the example come from events, so they are escaped. */
function formatErrors(report: ErrorReport, output: Output, utc: boolean): string {
  const { chalk } = output;
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
