import { parseMicros } from '../format/clock.js';
import type { AttemptOutcome, JobState } from './replay.js';

/** The job as intervals on one time axis: an agent's attempts, and the checkpoints and pauses. */
export interface Timeline {
  job: string | undefined;
  start: string | undefined;
  end: string | undefined;
  agents: {
    agent: string;
    attempts: {
      item: string;
      attempt: number;
      start: string;
      end: string | undefined;
      outcome: AttemptOutcome;
    }[];
  }[];
  checkpoints: { version: number; at: string }[];
  pauses: { at: string; resumedAt: string | undefined }[];
  /** When the job failed and why (its job_failed event); absent unless it failed. */
  failure?: { at: string; error: string };
}

export function timelineOf(state: JobState): Timeline {
  const agents = new Map<string, Timeline['agents'][number]>();
  for (const a of state.attempts) {
    const row = agents.get(a.agent) ?? { agent: a.agent, attempts: [] };
    agents.set(a.agent, row);
    row.attempts.push({ item: a.item, attempt: a.attempt, start: a.start, end: a.end, outcome: a.outcome });
  }
  return {
    job: state.job,
    start: state.startedAt,
    end: state.lastEvent?.ts,
    agents: [...agents.values()].sort((a, b) => (a.agent < b.agent ? -1 : 1)),
    checkpoints: state.checkpoints.map((c) => ({ version: c.version, at: c.at })),
    pauses: state.pauses,
    ...(state.failure === undefined ? {} : { failure: { at: state.failure.at, error: state.failure.error } }),
  };
}

/** The glyph of each outcome: distinct without colour, so the picture reads in plain text too. */
export const TIMELINE_GLYPHS: Record<AttemptOutcome | 'checkpoint' | 'pause' | 'jobFailed', string> = {
  completed: '=',
  failed: 'x',
  retried: '~',
  running: '>',
  checkpoint: 'C',
  pause: 'P',
  jobFailed: 'F',
};

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
