import { parseMicros } from '../../format/clock.js';
import type { Timeline } from '../../insight/timeline.js';
import { TIMELINE_GLYPHS } from './glyphs.js';

/**
 * Rows of characters, `width` wide, one per agent plus one of markers (checkpoints, pauses, the
 * failure of the job); `at` maps a time to a column.
 */
export function drawTimeline(
  timeline: Timeline,
  width: number,
): { rows: { label: string; cells: string[] }[]; at: (ts: string) => number } {
  const start = timeline.start === undefined ? 0 : parseMicros(timeline.start);
  const end = timeline.end === undefined ? start : parseMicros(timeline.end);
  const span = Math.max(1, end - start);
  const at = (ts: string) =>
    Math.min(width - 1, Math.max(0, Math.floor(((parseMicros(ts) - start) / span) * width)));
  const rows = timeline.agents.map((row) => {
    const cells = Array.from({ length: width }, () => ' ');
    for (const a of row.attempts) {
      const from = at(a.start);
      const to = a.end === undefined ? width - 1 : at(a.end);
      for (let i = from; i <= to; i++) cells[i] = TIMELINE_GLYPHS[a.outcome];
    }
    return { label: row.agent, cells };
  });
  const marks = Array.from({ length: width }, () => ' ');
  for (const p of timeline.pauses) {
    const to = p.resumedAt === undefined ? width - 1 : at(p.resumedAt);
    for (let i = at(p.at); i <= to; i++) marks[i] = TIMELINE_GLYPHS.pause;
  }
  for (const c of timeline.checkpoints) marks[at(c.at)] = TIMELINE_GLYPHS.checkpoint;
  if (timeline.failure !== undefined) marks[at(timeline.failure.at)] = TIMELINE_GLYPHS.jobFailed;
  rows.push({ label: 'job', cells: marks });
  return { rows, at };
}
