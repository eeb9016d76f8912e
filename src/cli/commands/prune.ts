import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../format/errors.js';
import { prune, type PruneResult } from '../../maintenance/prune.js';
import { PRUNE_CONFIG_FILE, readPruneConfig, toPolicy } from '../../maintenance/prune-policy.js';
import { locateEventsDir } from '../../read/locate.js';
import { formatPruneResult } from '../format/prune.js';
import type { Output } from '../io.js';
import { dirOption, integerArg, jobsOption } from '../options.js';

export interface PruneFlags {
  dir?: string;
  olderThan?: string;
  maxSize?: string;
  keepJobs?: number;
  maxEvents?: number;
  job: string[];
  includeRunning?: boolean;
  archive?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option(
      '--older-than <duration>',
      'sealed segments and finished jobs whose last event is older: 30d, 12h, 2w, 6M (months), 1y',
    )
    .option('--max-size <size>', 'remove the oldest until the events directory fits: 10GB, 500MB, 2GiB')
    .option('--keep-jobs <n>', 'never touch the newest n jobs', integerArg('--keep-jobs', 0, 1_000_000))
    .option(
      '--max-events <n>',
      "remove a job's oldest segments while it has more events",
      integerArg('--max-events', 1, Number.MAX_SAFE_INTEGER),
    )
    .addOption(jobsOption())
    .option('--include-running', 'also remove whole jobs that never ended (never one a live writer holds)')
    .option('--archive <dir>', 'move what is removed into this events directory instead of deleting it')
    .option('--dry-run', 'print what would be removed and the bytes freed; change nothing')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'print nothing but errors (for cron mail)')
    .action(async (flags: PruneFlags) => {
      await runPrune(flags, output);
    });
}

export async function runPrune(flags: PruneFlags, output: Output): Promise<PruneResult> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const config = await readPruneConfig(dir);
  const policy = toPolicy(
    config,
    {
      olderThan: flags.olderThan,
      maxSize: flags.maxSize,
      keepJobs: flags.keepJobs,
      maxEvents: flags.maxEvents,
      includeRunning: flags.includeRunning,
      // A path on the command line is the shell's: relative to where it was typed (prune.json's are
      // relative to the events directory).
      archive: flags.archive === undefined ? undefined : path.resolve(flags.archive),
      jobs: flags.job,
    },
    dir,
    { olderThan: '--older-than', maxSize: '--max-size' },
  );
  if (policy.olderThanMs === undefined && policy.maxBytes === undefined && policy.maxEvents === undefined) {
    throw new InvalidArgumentError(
      `events prune needs a rule: --older-than, --max-size or --max-events (or them in ${PRUNE_CONFIG_FILE})`,
    );
  }
  const started = Date.now();
  const stderrIsTTY = (output.io.stderr as { isTTY?: boolean }).isTTY === true;
  const result = await prune(dir, policy, {
    dryRun: flags.dryRun === true,
    onProgress: (done, total) => {
      if (stderrIsTTY && flags.quiet !== true && Date.now() - started > 500) {
        output.err(`\rpruning ${done}/${total}${done === total ? '\n' : ''}`);
      }
    },
  });
  if (flags.quiet !== true) {
    output.out(
      flags.json === true
        ? JSON.stringify(result, null, 2) + '\n'
        : formatPruneResult(result, policy.archive, output),
    );
  }
  return result;
}
