import type { Command } from 'commander';
import { groupErrors, type ErrorReport } from '../../insight/errors.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents } from '../../read/reader.js';
import { formatErrors } from '../format/errors.js';
import type { Output } from '../io.js';
import { dirOption, jobsOption } from '../options.js';
import { addWindowOptions, parseWindow, type WindowFlags } from '../filter-options.js';
import { reportSkipped } from '../report-skipped.js';

export interface ErrorsFlags extends WindowFlags {
  dir?: string;
  job: string[];
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command.addOption(dirOption()).addOption(jobsOption());
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
  else output.out(formatErrors(report, { chalk: output.chalk, utc }));
  reportSkipped(reader.stats, output);
  return report;
}
