import fs from 'node:fs/promises';
import { IndexDerivation } from '../storage/index-builders.js';
import { isCompressed } from '../storage/line-reader.js';
import { comparableTo, indexDisagreement, readSegmentIndex } from '../storage/segment-index.js';
import type { SegmentEnd, WalkLine } from '../storage/stream-walk.js';
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

type IndexRead = Awaited<ReturnType<typeof readSegmentIndex>>;

/**
 * A segment's `.idx`, read when the walk of the segment begins, and the index derived from the lines
 * the walk reads (format.md section 8): verify compares the two without reading the segment again.
 */
export class SegmentIndexCheck {
  private lastHash = '';

  private constructor(
    readonly read: IndexRead,
    private readonly derived: IndexDerivation | undefined,
  ) {}

  static async begin(file: string): Promise<SegmentIndexCheck> {
    const read = await readSegmentIndex(file, (await fs.stat(file)).size);
    // Blocks end where the index's do: each is compared with its own.
    const derived = 'index' in read ? new IndexDerivation(comparableTo(read.index)) : undefined;
    return new SegmentIndexCheck(read, derived);
  }

  line(line: WalkLine): void {
    if (this.derived === undefined) return;
    if (line.record === undefined) return this.derived.corrupt(line.bytes.length + 1);
    this.derived.record(line.record, line.bytes.length + 1);
    this.lastHash = line.hash;
  }

  /** Where the index disagrees with the lines walked (or why it cannot be used); undefined if it agrees. */
  problem(sha256: string): string | undefined {
    if ('problem' in this.read) return this.read.problem;
    if (this.derived === undefined) return undefined;
    const { blocks } = this.derived.finish();
    const seal =
      this.read.index.seal === undefined ? undefined : this.derived.sealEntry(sha256, this.lastHash);
    return indexDisagreement(this.read.index, { blocks, seal });
  }
}

/** A sealed segment's bytes must hash to its seal; its index must agree with it line by line. */
export function checkSeal(
  add: FindingSink,
  report: StreamReport,
  end: SegmentEnd,
  index: SegmentIndexCheck,
): void {
  const seal = 'index' in index.read ? index.read.index.seal : undefined;
  if (seal !== undefined && (seal.sha256 !== end.sha256 || seal.bytes !== end.bytes)) {
    const message = `its bytes no longer hash to its seal (${end.bytes} bytes, sealed ${seal.bytes})`;
    add({ kind: 'seal-mismatch', segment: end.segment.file, seq: seal.seq[0], offset: 0, message });
  }
  // A crash between a rotation and its seal: the chain still covers the segment; rotate seals it.
  if (!end.newest && seal === undefined) report.unsealed.push(end.segment.file);
  if ('problem' in index.read && index.read.problem === 'no index') return;
  const problem = index.problem(end.sha256 ?? '');
  if (problem !== undefined) {
    add({ kind: 'index-mismatch', segment: end.segment.file, message: `its index disagrees: ${problem}` });
  }
}
