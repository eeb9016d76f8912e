import type { ChalkInstance } from 'chalk';
import { humanBytes } from '../../format/truncate.js';
import type { PruneItem, PruneResult } from '../../maintenance/prune.js';
import { plainTable } from './table.js';

/**
 * `events prune`: what an interrupted prune left and this one finished, what was left and why, then a
 * table of what was removed (or archived to `archive`, or would be in a dry run) and the bytes freed.
 */
export function formatPruneResult(
  result: PruneResult,
  archive: string | undefined,
  ctx: { chalk: ChalkInstance },
): string {
  const verb = result.dryRun ? 'would remove' : archive === undefined ? 'removed' : `archived to ${archive}`;
  let text = '';
  for (const item of result.finished) {
    text += `finished what an interrupted prune began: ${describeItem(item)} of job ${item.job}\n`;
  }
  for (const { item, why } of result.skipped) {
    text += `left ${describeItem(item)} of job ${item.job}: ${why}; the next prune decides again\n`;
  }
  if (result.items.length === 0) return text + `nothing to prune${result.dryRun ? ' (dry run)' : ''}\n`;
  const table = plainTable(['job', 'what', 'last event', 'events', 'size', 'why'], ctx.chalk);
  for (const item of result.items) {
    table.push([item.job, describeItem(item), item.lastTs, item.events, humanBytes(item.bytes), item.reason]);
  }
  return (
    text + `${table.toString()}\n${verb}: ${result.items.length} items, ${humanBytes(result.bytesFreed)}\n`
  );
}

function describeItem(item: PruneItem): string {
  return item.kind === 'job' ? 'whole job' : `${item.segment ?? ''} (seq ${item.seq?.join('-') ?? ''})`;
}
