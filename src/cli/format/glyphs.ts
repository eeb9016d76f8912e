import type { AttemptOutcome } from '../../insight/replay.js';

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

/** The bars of a sparkline, lowest to highest. */
export const SPARK_BARS = '▁▂▃▄▅▆▇█';
