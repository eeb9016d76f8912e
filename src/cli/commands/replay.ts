import type { Command } from 'commander';
import { DataError } from '../../format/errors.js';
import { untilAborted } from '../../ingest/lines.js';
import { checkReplay, replayJob, type JobState, type ReplayOptions } from '../../insight/replay.js';
import { parseMicros } from '../../format/clock.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents } from '../../read/reader.js';
import { reportSkipped } from '../report-skipped.js';
import { parseTimeArg } from '../../format/time-parse.js';
import { formatPretty } from '../format/event.js';
import { formatJobState, formatStepChange } from '../format/replay.js';
import { visible } from '../format/visible.js';
import type { Output } from '../io.js';
import { dirOption, numberArg } from '../options.js';
import { untilStopped } from '../stop-signal.js';

export interface ReplayFlags {
  dir?: string;
  job: string;
  until?: string;
  json?: boolean;
  step?: boolean;
  speed?: number;
  check?: boolean;
  utc?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .requiredOption('--job <id>', 'the job')
    .addOption(dirOption())
    .option('--until <time|seq>', 'stop there: a time (as --since takes), a seq, or stream:seq')
    .option('--step', 'print each event and the state change it made')
    .option(
      '--speed <n>',
      'play the events in real time divided by n (implies --step; Ctrl-C stops)',
      numberArg('--speed', 0.001, 1e9),
    )
    .option(
      '--check',
      'exit 4 unless the job ended and the replay agrees with its job_completed or job_failed event (and has no anomalies)',
    )
    .option('--json', 'print the state as JSON')
    .option('--utc', 'read and print times in UTC')
    .action(async (flags: ReplayFlags) => {
      await runReplay(flags, output);
    });
}

export async function runReplay(flags: ReplayFlags, output: Output): Promise<JobState> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const ctx = { chalk: output.chalk, utc: flags.utc === true };
  const options: ReplayOptions = parseUntil(flags);
  const step = flags.step === true || flags.speed !== undefined;
  const events = readEvents({ dir, jobs: [flags.job] });
  // Stepping, Ctrl-C ends the replay where it is; otherwise a signal ends the process as usual (a
  // state half read is never printed as the job's).
  const replay = async (signal: AbortSignal | undefined): Promise<JobState> => {
    if (step) options.onStep = stepPrinter(flags, output, ctx, signal);
    return replayJob(untilAborted(events, signal), options);
  };
  const state = step ? await untilStopped(replay) : await replay(undefined);
  output.out(
    flags.json === true
      ? JSON.stringify(state, null, 2) + '\n'
      : (step ? '\n' : '') + formatJobState(state, ctx),
  );
  reportSkipped(events.stats, output);
  if (flags.check === true) {
    const { problems } = checkReplay(state);
    // A line the read had to skip is an event the replay cannot account for (issue 11).
    for (const [job, s] of events.stats) {
      if (s.corrupt > 0) problems.push(`${s.corrupt} corrupt lines of job ${job} were skipped`);
      for (const damage of s.damaged ?? []) problems.push(`could not read all of ${job}/${damage}`);
    }
    if (problems.length > 0) {
      // Problems name items and agents of the log: escaped, one line each.
      for (const problem of problems) output.err(`replay: ${visible(problem)}\n`);
      throw new DataError(
        `the replay of job ${flags.job} disagrees with its log (${problems.length} problems)`,
      );
    }
  }
  return state;
}

function parseUntil(flags: ReplayFlags): ReplayOptions {
  if (flags.until === undefined) return {};
  const ref = /^(?:([A-Za-z0-9][A-Za-z0-9._-]*):)?(\d{1,9})$/.exec(flags.until);
  if (ref !== null) return { untilSeq: Number(ref[2]), untilStream: ref[1] };
  return { untilUs: parseTimeArg('--until', flags.until, { utc: flags.utc === true }) };
}

/** Prints each event and the state change it makes, paced by --speed, until `signal` aborts. */
function stepPrinter(
  flags: ReplayFlags,
  output: Output,
  ctx: { chalk: Output['chalk']; utc: boolean },
  signal: AbortSignal | undefined,
): NonNullable<ReplayOptions['onStep']> {
  let previousUs: number | undefined;
  return async (record, state) => {
    const us = parseMicros(record.ts);
    if (flags.speed !== undefined && previousUs !== undefined) {
      await sleep(Math.min(60_000, (us - previousUs) / 1000 / flags.speed), signal);
    }
    previousUs = us;
    if (signal?.aborted === true) return;
    output.out(`${formatPretty(record, ctx)}\n${output.chalk.dim(formatStepChange(state))}\n`);
  };
}

/** Waits `ms`, or less if `signal` aborts (its listener removed either way). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
