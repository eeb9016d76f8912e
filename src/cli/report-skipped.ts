import type { ReadStats } from '../core/line-reader.js';
import type { Output } from './io.js';

/** The stderr warning for corrupt lines a read skipped (issue 3); a torn tail is not mentioned. */
export function reportSkipped(stats: Map<string, ReadStats>, output: Output): void {
  for (const [job, s] of stats) {
    for (const problem of s.indexProblems ?? []) {
      output.err(
        `warning: ignored the index of ${job}/${problem}; read the segment instead (run 'events index --rebuild --job ${job}')\n`,
      );
    }
    for (const damage of s.damaged ?? []) {
      output.err(`warning: could not read all of ${job}/${damage} (run 'events verify --job ${job}')\n`);
    }
    if (s.corrupt === 0) continue;
    const lines = s.corrupt === 1 ? 'line' : 'lines';
    output.err(
      `warning: skipped ${s.corrupt} corrupt ${lines} in ${job} (run 'events verify --job ${job}')\n`,
    );
  }
}
