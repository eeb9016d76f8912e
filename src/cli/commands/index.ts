import type { Command } from 'commander';
import { DataError } from '../../format/errors.js';
import { checkIndexes, rebuildIndexes, type IndexReport } from '../../maintenance/indexes.js';
import { locateEventsDir } from '../../read/locate.js';
import { plainTable } from '../format/table.js';
import type { Output } from '../io.js';
import { dirOption, jobsOption } from '../options.js';

export interface IndexFlags {
  dir?: string;
  job: string[];
  rebuild?: boolean;
  check?: boolean;
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .addOption(jobsOption())
    .option(
      '--check',
      'report indexes that are missing or disagree with their segment (exit 4 if any disagree)',
    )
    .option('--rebuild', 'rebuild every index from its segment (not those a live writer holds)')
    .option('--json', 'one JSON object per segment')
    .action(async (flags: IndexFlags) => {
      await runIndex(flags, output);
    });
}

export async function runIndex(flags: IndexFlags, output: Output): Promise<IndexReport[]> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const reports =
    flags.rebuild === true ? await rebuildIndexes(dir, flags.job) : await checkIndexes(dir, flags.job);
  if (flags.json === true) {
    for (const report of reports) output.out(JSON.stringify(report) + '\n');
  } else if (reports.length > 0) {
    const table = plainTable(['job', 'segment', 'index', 'detail'], output.chalk, { wordWrap: true });
    for (const r of reports) table.push([r.job, r.segment, r.status, r.detail ?? '']);
    output.out(table.toString() + '\n');
  }
  const bad = reports.filter((r) => r.status === 'bad').length;
  if (bad > 0) {
    throw new DataError(`${bad} ${bad === 1 ? 'index disagrees' : 'indexes disagree'} with their segments`, {
      hint: "readers scan those segments instead; 'events index --rebuild' rebuilds them",
    });
  }
  return reports;
}
