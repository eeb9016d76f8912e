import type { Command } from 'commander';
import { rotateJobs, type RotateReport } from '../../maintenance/rotate.js';
import { locateEventsDir } from '../../read/locate.js';
import { humanBytes } from '../../format/truncate.js';
import { plainTable } from '../format/table.js';
import type { Output } from '../io.js';
import { dirOption, jobsOption } from '../options.js';

export interface RotateFlags {
  dir?: string;
  job: string[];
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .addOption(jobsOption())
    .option('--json', 'one JSON object per action')
    .action(async (flags: RotateFlags) => {
      await runRotate(flags, output);
    });
}

export async function runRotate(flags: RotateFlags, output: Output): Promise<RotateReport[]> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const reports = await rotateJobs(dir, flags.job);
  if (flags.json === true) {
    for (const report of reports) output.out(JSON.stringify(report) + '\n');
    return reports;
  }
  const done = reports.filter((r) => r.action !== 'skipped-live');
  if (done.length === 0) {
    output.out('nothing to rotate\n');
    return reports;
  }
  const table = plainTable(['job', 'file', 'action', 'before', 'after'], output.chalk);
  for (const r of done)
    table.push([r.job, r.file, r.action, humanBytes(r.bytesBefore), humanBytes(r.bytesAfter)]);
  const compressed = done.filter((r) => r.action === 'compressed');
  const saved = compressed.reduce((sum, r) => sum + r.bytesBefore - r.bytesAfter, 0);
  output.out(`${table.toString()}\ncompressed ${compressed.length} segments, ${humanBytes(saved)} saved\n`);
  return reports;
}
