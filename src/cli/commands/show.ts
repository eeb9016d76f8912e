import type { Command } from 'commander';
import type { ReadStats } from '../../storage/line-reader.js';
import path from 'node:path';
import { chainOf } from '../../format/chain.js';
import { readManifest } from '../../storage/manifest.js';
import { findEvent, parseEventRef, type FoundEvent } from '../../read/find.js';
import { locateEventsDir } from '../../read/locate.js';
import { formatShow } from '../format/show.js';
import type { Output } from '../io.js';
import { dirOption } from '../options.js';
import { reportSkipped } from '../report-skipped.js';

export interface ShowFlags {
  dir?: string;
  json?: boolean;
  utc?: boolean;
  /** false with --no-index */
  index?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option('--json', 'only the event, as pretty-printed JSON')
    .option('--utc', 'print times in UTC instead of local time')
    .option('--no-index', 'scan the segments instead of using their indexes')
    .action(async (job: string, ref: string, flags: ShowFlags) => {
      await runShow(job, ref, flags, output);
    });
}

export async function runShow(
  job: string,
  ref: string,
  flags: ShowFlags,
  output: Output,
): Promise<FoundEvent> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  // What the read skipped is said also when the event is not found: it may be what was skipped.
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  let event: FoundEvent;
  try {
    event = await findEvent(dir, job, parseEventRef(ref), { noIndex: flags.index === false, stats });
  } finally {
    reportSkipped(new Map([[job, stats]]), output);
  }
  output.out(
    flags.json === true
      ? JSON.stringify(event.record, null, 2) + '\n'
      : formatShow(event, output.chalk, flags.utc === true, await lineHashOf(dir, job, event.line)),
  );
  return event;
}

/** The line's chain hash; for a keyed log only with its key. */
async function lineHashOf(dir: string, job: string, line: string): Promise<string> {
  const manifest = await readManifest(path.join(dir, job));
  try {
    return chainOf(manifest ?? { job_id: job }).hash(line);
  } catch {
    return '(a keyed chain: set EVENTS_HMAC_KEY to see it)';
  }
}
