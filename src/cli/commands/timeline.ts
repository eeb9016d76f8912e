import type { Command } from 'commander';
import { parseMicros } from '../../format/clock.js';
import { replayJob } from '../../insight/replay.js';
import { drawTimeline, TIMELINE_GLYPHS, timelineOf, type Timeline } from '../../insight/timeline.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents } from '../../read/reader.js';
import { reportSkipped } from '../report-skipped.js';
import { duration } from '../../format/summary.js';
import { displayTime } from '../format/event.js';
import { visible } from '../format/visible.js';
import type { Output } from '../io.js';
import { dirOption, integerArg } from '../options.js';

export interface TimelineFlags {
  dir?: string;
  job: string;
  width?: number;
  utc?: boolean;
  json?: boolean;
}

export function registerTimeline(program: Command, output: Output): void {
  program
    .command('timeline')
    .description('the job as people picture it: a row per agent, a bar per attempt, checkpoints and pauses')
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
  if (flags.json === true) {
    output.out(JSON.stringify(timeline, null, 2) + '\n');
    return timeline;
  }
  const { chalk } = output;
  const utc = flags.utc === true;
  // Agent ids come from events: escaped, so a row stays one line (and the labels line up).
  const labelWidth = Math.max(3, ...timeline.agents.map((a) => visible(a.agent).length));
  const columns = (output.io.stdout as { columns?: number }).columns;
  const width = flags.width ?? Math.max(20, (columns ?? 80) - labelWidth - 3);
  const { rows } = drawTimeline(timeline, width);
  const colour: Record<string, (s: string) => string> = {
    [TIMELINE_GLYPHS.completed]: chalk.green,
    [TIMELINE_GLYPHS.failed]: chalk.red,
    [TIMELINE_GLYPHS.retried]: chalk.yellow,
    [TIMELINE_GLYPHS.running]: chalk.cyan,
    [TIMELINE_GLYPHS.checkpoint]: chalk.magenta,
    [TIMELINE_GLYPHS.pause]: chalk.gray,
    [TIMELINE_GLYPHS.jobFailed]: chalk.bold.red,
  };
  const paint = (cells: string[]) => cells.map((c) => colour[c]?.(c) ?? c).join('');
  const span =
    timeline.start && timeline.end ? (parseMicros(timeline.end) - parseMicros(timeline.start)) / 1000 : 0;
  const scale = Array.from({ length: width }, () => ' ');
  for (let i = 0; i < 5; i++) {
    const column = Math.round((i / 4) * (width - 1));
    const label = `|${duration((span * column) / Math.max(1, width - 1))}`;
    const at = Math.min(column, width - label.length);
    for (let k = 0; k < label.length; k++) scale[at + k] = label[k] as string;
  }
  const failure = timeline.failure;
  const lines = [
    `Job ${chalk.bold(visible(timeline.job ?? flags.job))} from ${timeline.start ? displayTime(timeline.start, utc) : '-'}, ${duration(span)}`,
    `${' '.repeat(labelWidth)}  ${scale.join('')}`,
    ...rows.map((r) => `${visible(r.label).padEnd(labelWidth)} |${paint(r.cells)}|`),
    chalk.dim(
      `${TIMELINE_GLYPHS.completed} completed  ${TIMELINE_GLYPHS.failed} failed  ${TIMELINE_GLYPHS.retried} failed, retried later  ${TIMELINE_GLYPHS.running} running  ${TIMELINE_GLYPHS.checkpoint} checkpoint  ${TIMELINE_GLYPHS.pause} paused` +
        (failure === undefined ? '' : `  ${TIMELINE_GLYPHS.jobFailed} job failed`),
    ),
  ];
  if (failure !== undefined) {
    lines.push(chalk.red(`job failed at ${displayTime(failure.at, utc)}: ${visible(failure.error)}`));
  }
  output.out(lines.join('\n') + '\n');
  return timeline;
}
