import type { Command } from 'commander';
import { DataError, InvalidArgumentError } from '../../format/errors.js';
import { holdsLog, locateEventsDir } from '../../read/locate.js';
import { tailEvents, type JobOutcome } from '../../read/tail.js';
import { addFilterOptions, toFilter, type FilterFlags } from '../filter-options.js';
import type { Output } from '../io.js';
import { untilStopped } from '../stop-signal.js';
import { dirOption, integerArg } from '../options.js';
import { addEventFormatOptions, chooseFormat, EventPrinter, type EventFormat } from '../print-events.js';
import { SkipReporter } from '../report-skipped.js';

export interface TailFlags extends FilterFlags {
  dir?: string;
  lines: number;
  follow?: boolean;
  untilDone?: boolean;
  output?: EventFormat;
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option(
      '-n, --lines <n>',
      'how many of the newest events to start with',
      integerArg('-n', 0, 1_000_000),
      10,
    )
    .option('-f, --follow', 'keep following: appends, new streams, new segments and new jobs')
    .option('--until-done', 'follow one job (--job) until it completes (exit 0) or fails (exit 4)');
  addEventFormatOptions(addFilterOptions(command)).action(async (flags: TailFlags) => {
    await runTail(flags, output);
  });
}

/** Prints the tail of the log; with -f runs until Ctrl-C, SIGTERM, a closed pipe or --until-done. */
export async function runTail(
  flags: TailFlags,
  output: Output,
): Promise<{ outcome: JobOutcome | undefined }> {
  const follow = flags.follow === true || flags.untilDone === true;
  const format = chooseFormat(output, flags);
  if (follow && format === 'table') {
    throw new InvalidArgumentError(
      '-o table prints once the events are all read; with -f use pretty or jsonl',
    );
  }
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: follow ? 'log-or-new' : 'log' });
  if (follow && flags.job.length === 0 && !holdsLog(dir)) output.err(`waiting for the first job in ${dir}\n`);
  return untilStopped(async (signal) => {
    const tail = tailEvents({
      dir,
      ...toFilter(flags),
      last: flags.lines,
      follow,
      untilDone: flags.untilDone,
      signal,
    });
    const printer = new EventPrinter(output, format, { chalk: output.chalk, utc: flags.utc === true });
    // Following, what was skipped is said as it is met, not only when the tail ends (issue 11).
    const skipped = new SkipReporter(output);
    for await (const event of tail) {
      if (!(await printer.print(event))) break;
      if (follow) skipped.report(tail.stats);
    }
    printer.end();
    skipped.report(tail.stats);
    if (flags.untilDone === true && tail.outcome === 'failed') {
      throw new DataError(`job ${flags.job[0] ?? ''} failed`);
    }
    return { outcome: tail.outcome };
  });
}
