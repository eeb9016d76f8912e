import type { Command } from 'commander';
import { replayJob } from '../../insight/replay.js';
import { timelineOf, type Timeline } from '../../insight/timeline.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents } from '../../read/reader.js';
import { reportSkipped } from '../report-skipped.js';
import { formatTimeline } from '../format/timeline.js';
import type { Output } from '../io.js';
import { dirOption, integerArg } from '../options.js';

export interface TimelineFlags {
  dir?: string;
  job: string;
  width?: number;
  utc?: boolean;
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .requiredOption('--job <id>', 'the job')
    .addOption(dirOption())
    .option(
      '--width <n>',
      'columns of the time axis (default: the terminal width, else 80)',
      integerArg('--width', 10, 1000),
    )
    .option('--utc', 'print times in UTC')
    .option('--json', 'print the intervals as JSON')
    .action(async (flags: TimelineFlags) => {
      await runTimeline(flags, output);
    });
}

export async function runTimeline(flags: TimelineFlags, output: Output): Promise<Timeline> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const events = readEvents({ dir, jobs: [flags.job] });
  const timeline = timelineOf(await replayJob(events));
  // Skipped lines and unreadable segments are said: an agent may only look still running (issue 11).
  reportSkipped(events.stats, output);
  output.out(
    flags.json === true
      ? JSON.stringify(timeline, null, 2) + '\n'
      : formatTimeline(timeline, {
          chalk: output.chalk,
          utc: flags.utc === true,
          columns: (output.io.stdout as { columns?: number }).columns,
          width: flags.width,
          job: flags.job,
        }),
  );
  return timeline;
}
