import type { ReadStats } from '../storage/line-reader.js';
import { visible } from './format/visible.js';
import type { Output } from './io.js';

/**
 * The stderr warnings for what a read skipped (issues 3 and 11): a job directory without its LOG.json,
 * ignored indexes, compressed segments that could not be read to their end, corrupt lines. A torn tail is not mentioned. The descriptions
 * are escaped: `events jobs` takes them from its cache file, which anyone may have written.
 */
export function reportSkipped(stats: Map<string, ReadStats>, output: Output): void {
  new SkipReporter(output).report(stats);
}

/**
 * reportSkipped for a read that goes on (`tail -f`): each call says only what is new since the last
 * one, so damage is said as it is met, not only when the command ends, and never twice.
 */
export class SkipReporter {
  private readonly said = new Map<string, { corrupt: number; problems: Set<string> }>();

  constructor(private readonly output: Output) {}

  report(stats: Map<string, ReadStats>): void {
    for (const [job, s] of stats) {
      const said = this.said.get(job) ?? { corrupt: 0, problems: new Set<string>() };
      this.said.set(job, said);
      const once = (problem: string, warning: string) => {
        if (said.problems.has(problem)) return;
        said.problems.add(problem);
        this.output.err(warning);
      };
      if (s.skipped !== undefined) {
        once(
          `skipped ${s.skipped}`,
          `warning: skipped ${job} whole: ${visible(s.skipped)} (run 'events verify --job ${job}')\n`,
        );
      }
      for (const problem of s.indexProblems ?? []) {
        once(
          `index ${problem}`,
          `warning: ignored the index of ${job}/${visible(problem)}; read the segment instead (run 'events index --rebuild --job ${job}')\n`,
        );
      }
      for (const damage of s.damaged ?? []) {
        once(
          `damaged ${damage}`,
          `warning: could not read all of ${job}/${visible(damage)} (run 'events verify --job ${job}')\n`,
        );
      }
      const corrupt = s.corrupt - said.corrupt;
      if (corrupt <= 0) continue;
      said.corrupt = s.corrupt;
      const lines = corrupt === 1 ? 'line' : 'lines';
      this.output.err(
        `warning: skipped ${corrupt} corrupt ${lines} in ${job} (run 'events verify --job ${job}')\n`,
      );
    }
  }
}
