import fs from 'node:fs/promises';
import { isCompressed } from '../storage/line-reader.js';
import { checkSegmentIndex, readSegmentIndex } from '../storage/segment-index.js';
import type { SegmentEnd } from '../storage/stream-walk.js';
import type { FindingSink, StreamReport } from './report.js';

/**
 * What the read of a segment could not get through: a read that failed, damaged gzip data, a line
 * without its `\n` (torn, which is only a crash mid-write at the end of the active plain segment).
 * `seq` is the seq expected next, where the read stopped.
 */
export function checkSegmentRead(add: FindingSink, report: StreamReport, end: SegmentEnd, seq: number): void {
  const where = { segment: end.segment.file, seq, offset: end.bytes };
  if (end.error !== undefined) {
    add({ kind: 'unreadable', ...where, message: `cannot read it: ${end.error.message}` });
  }
  for (const damage of end.stats.damaged ?? []) {
    add({ kind: 'unreadable', ...where, message: `the gzip data ends early or is corrupt (${damage})` });
  }
  if (!end.stats.tornTail) return;
  if (end.newest && !isCompressed(end.file)) report.tornTail = true;
  else add({ kind: 'corrupt-line', ...where, message: 'the segment ends in the middle of a line' });
}

/** A sealed segment's bytes must hash to its seal; its index must agree with it line by line. */
export async function checkSeal(add: FindingSink, report: StreamReport, end: SegmentEnd): Promise<void> {
  const size = (await fs.stat(end.file)).size;
  const read = await readSegmentIndex(end.file, size);
  const seal = 'index' in read ? read.index.seal : undefined;
  if (seal !== undefined && (seal.sha256 !== end.sha256 || seal.bytes !== end.bytes)) {
    const message = `its bytes no longer hash to its seal (${end.bytes} bytes, sealed ${seal.bytes})`;
    add({ kind: 'seal-mismatch', segment: end.segment.file, seq: seal.seq[0], offset: 0, message });
  }
  // A crash between a rotation and its seal: the chain still covers the segment; rotate seals it.
  if (!end.newest && seal === undefined) report.unsealed.push(end.segment.file);
  if ('problem' in read && read.problem === 'no index') return;
  await checkIndex(add, end);
}

/** A segment's index must agree with the segment (format.md section 8). */
async function checkIndex(add: FindingSink, end: SegmentEnd): Promise<void> {
  const problem = await checkSegmentIndex(end.file);
  if (problem !== undefined) {
    add({ kind: 'index-mismatch', segment: end.segment.file, message: `its index disagrees: ${problem}` });
  }
}
