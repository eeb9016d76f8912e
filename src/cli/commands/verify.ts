import type { Command } from 'commander';
import { DataError } from '../../format/errors.js';
import { locateEventsDir } from '../../read/locate.js';
import { parseExpectedHeads, verifyLog, type VerifyReport } from '../../verify/verify.js';
import { formatVerify } from '../format/verify.js';
import type { Output } from '../io.js';
import { collect, dirOption, jobsOption } from '../options.js';

export interface VerifyFlags {
  dir?: string;
  job: string[];
  expectHead: string[];
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .addOption(jobsOption())
    .option(
      '--expect-head <stream=hash>',
      'the head hash kept from an earlier verify (stream or job/stream; repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the report as JSON')
    .action(async (flags: VerifyFlags) => {
      await runVerify(flags, output);
    });
}

export async function runVerify(flags: VerifyFlags, output: Output): Promise<VerifyReport> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const report = await verifyLog(dir, { jobs: flags.job, expectHeads: parseExpectedHeads(flags.expectHead) });
  const text = flags.json === true ? JSON.stringify(report, null, 2) + '\n' : formatVerify(report, output);
  if (text !== '') output.out(text);
  if (!report.ok) {
    const bad = report.streams.filter((s) => s.problems.length > 0).length;
    const jobs =
      report.jobs.length === 0 ? '' : ` and ${report.jobs.length} jobs without a readable LOG.json`;
    throw new DataError(`${bad} of ${report.streams.length} streams failed verification${jobs}`);
  }
  return report;
}
