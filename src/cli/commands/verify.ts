import type { Command } from 'commander';
import { DataError } from '../../format/errors.js';
import { locateEventsDir } from '../../read/locate.js';
import { parseExpectedHeads, verifyLog, type VerifyReport } from '../../verify/verify.js';
import { visible } from '../format/visible.js';
import type { Output } from '../io.js';
import { collect, dirOption, jobsOption } from '../options.js';

export interface VerifyFlags {
  dir?: string;
  job: string[];
  expectHead: string[];
  json?: boolean;
}

export function registerVerify(program: Command, output: Output): void {
  program
    .command('verify')
    .description(
      're-read every stream and prove it whole: seqs, the hash chain, seals, indexes; print each head',
    )
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
  const { chalk } = output;
  if (flags.json === true) output.out(JSON.stringify(report, null, 2) + '\n');
  else {
    for (const s of report.streams) {
      const status = s.problems.length === 0 ? chalk.green('ok') : chalk.red('FAILED');
      const from = s.startSeq > 1 ? ` (from seq ${s.startSeq}, after a prune)` : '';
      output.out(
        `${status} ${s.job}/${s.stream}: ${s.events} events in ${s.segments} segments${from}; head seq ${s.headSeq} hash ${s.headHash}${s.tornTail ? '; a torn last line (a crash: the next open quarantines it)' : ''}${s.unsealed.length > 0 ? `; ${s.unsealed.length} older segments not sealed yet (a crash: 'events rotate' seals them)` : ''}\n`,
      );
      for (const p of s.problems) {
        const where = [
          p.segment,
          p.seq === undefined ? '' : `seq ${p.seq}`,
          p.offset === undefined ? '' : `byte ${p.offset}`,
        ]
          .filter(Boolean)
          .join(', ');
        output.out(
          `  ${chalk.red(p.kind)}${where === '' ? '' : ` at ${where}`}: ${visible(p.message)}${p.count > 1 ? ` (${p.count} in this stream)` : ''}\n`,
        );
      }
    }
    for (const j of report.jobs) {
      output.out(`${chalk.red('FAILED')} ${j.job}: ${chalk.red(j.kind)}: ${visible(j.message)}\n`);
    }
    if (report.quarantined > 0)
      output.out(
        `${report.quarantined} torn tails in quarantine/ (cut off by recovery; never acknowledged)\n`,
      );
  }
  if (!report.ok) {
    const bad = report.streams.filter((s) => s.problems.length > 0).length;
    const jobs =
      report.jobs.length === 0 ? '' : ` and ${report.jobs.length} jobs without a readable LOG.json`;
    throw new DataError(`${bad} of ${report.streams.length} streams failed verification${jobs}`);
  }
  return report;
}
