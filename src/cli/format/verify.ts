import type { ChalkInstance } from 'chalk';
import type { VerifyReport } from '../../verify/verify.js';
import { visible } from './visible.js';

/** `events verify`: a line per stream (and its problems), a line per unreadable job, the quarantine. */
export function formatVerify(report: VerifyReport, ctx: { chalk: ChalkInstance }): string {
  const { chalk } = ctx;
  let text = '';
  for (const s of report.streams) {
    const status = s.problems.length === 0 ? chalk.green('ok') : chalk.red('FAILED');
    const from = s.startSeq > 1 ? ` (from seq ${s.startSeq}, after a prune)` : '';
    text += `${status} ${s.job}/${s.stream}: ${s.events} events in ${s.segments} segments${from}; head seq ${s.headSeq} hash ${s.headHash}${s.tornTail ? '; a torn last line (a crash: the next open quarantines it)' : ''}${s.unsealed.length > 0 ? `; ${s.unsealed.length} older segments not sealed yet (a crash: 'events rotate' seals them)` : ''}\n`;
    for (const p of s.problems) {
      const where = [
        p.segment,
        p.seq === undefined ? '' : `seq ${p.seq}`,
        p.offset === undefined ? '' : `byte ${p.offset}`,
      ]
        .filter(Boolean)
        .join(', ');
      text += `  ${chalk.red(p.kind)}${where === '' ? '' : ` at ${where}`}: ${visible(p.message)}${p.count > 1 ? ` (${p.count} in this stream)` : ''}\n`;
    }
  }
  for (const j of report.jobs) {
    text += `${chalk.red('FAILED')} ${j.job}: ${chalk.red(j.kind)}: ${visible(j.message)}\n`;
  }
  if (report.quarantined > 0)
    text += `${report.quarantined} torn tails in quarantine/ (cut off by recovery; never acknowledged)\n`;
  return text;
}
