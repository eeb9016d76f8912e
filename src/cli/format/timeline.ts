import type { ChalkInstance } from 'chalk';
import { parseMicros } from '../../format/clock.js';
import { duration } from '../../format/summary.js';
import type { Timeline } from '../../insight/timeline.js';
import { drawTimeline } from './draw-timeline.js';
import { displayTime } from './event.js';
import { TIMELINE_GLYPHS as G } from './glyphs.js';
import { visible } from './visible.js';

export interface TimelineContext {
  chalk: ChalkInstance;
  utc: boolean;
  /** The terminal's columns, if known: the time axis fills them unless `width` is given. */
  columns: number | undefined;
  width: number | undefined;
  /** The job asked for: the title when the log names none. */
  job: string;
}

/** `events timeline`: a row per agent, a bar per attempt, a row of markers, a scale and a legend. */
export function formatTimeline(timeline: Timeline, ctx: TimelineContext): string {
  const { chalk, utc } = ctx;
  // Agent ids come from events: escaped, so a row stays one line (and the labels line up).
  const labelWidth = Math.max(3, ...timeline.agents.map((a) => visible(a.agent).length));
  const width = ctx.width ?? Math.max(20, (ctx.columns ?? 80) - labelWidth - 3);
  const { rows } = drawTimeline(timeline, width);
  const colour: Record<string, (s: string) => string> = {
    [G.completed]: chalk.green,
    [G.failed]: chalk.red,
    [G.retried]: chalk.yellow,
    [G.running]: chalk.cyan,
    [G.checkpoint]: chalk.magenta,
    [G.pause]: chalk.gray,
    [G.jobFailed]: chalk.bold.red,
  };
  const paint = (cells: string[]) => cells.map((c) => colour[c]?.(c) ?? c).join('');
  const span =
    timeline.start && timeline.end ? (parseMicros(timeline.end) - parseMicros(timeline.start)) / 1000 : 0;
  const failure = timeline.failure;
  const lines = [
    `Job ${chalk.bold(visible(timeline.job ?? ctx.job))} from ${timeline.start ? displayTime(timeline.start, utc) : '-'}, ${duration(span)}`,
    `${' '.repeat(labelWidth)}  ${scale(span, width)}`,
    ...rows.map((r) => `${visible(r.label).padEnd(labelWidth)} |${paint(r.cells)}|`),
    chalk.dim(
      `${G.completed} completed  ${G.failed} failed  ${G.retried} failed, retried later  ${G.running} running  ${G.checkpoint} checkpoint  ${G.pause} paused` +
        (failure === undefined ? '' : `  ${G.jobFailed} job failed`),
    ),
  ];
  if (failure !== undefined) {
    lines.push(chalk.red(`job failed at ${displayTime(failure.at, utc)}: ${visible(failure.error)}`));
  }
  return lines.join('\n') + '\n';
}

/** Five ticks across `width` columns, each labelled with the time since the start (`span` ms in all). */
function scale(span: number, width: number): string {
  const cells = Array.from({ length: width }, () => ' ');
  for (let i = 0; i < 5; i++) {
    const column = Math.round((i / 4) * (width - 1));
    const label = `|${duration((span * column) / Math.max(1, width - 1))}`;
    const at = Math.min(column, width - label.length);
    for (let k = 0; k < label.length; k++) cells[at + k] = label[k] as string;
  }
  return cells.join('');
}
