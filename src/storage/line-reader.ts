import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { inflatedPieces } from './gzip-members.js';
import { LineSplitter, linesOf } from './line-splitter.js';
import { plainBytes, plainPieces } from './plain-bytes.js';
import type { ReadStats } from './read-stats.js';
import { isCompressed } from '../format/paths.js';

export { linesOf, MAX_LINE_BYTES } from './line-splitter.js';
export type { ReadStats } from './read-stats.js';

export interface ReadLine {
  record: EventRecord;
  /** The line as read, without `\n`. */
  line: string;
}

/**
 * The whole lines of a plain segment from `from` (a line start) up to `to`: a chunk of them, or more
 * when one line is longer, and how many bytes they (and any overlong line skipped, counted in `stats`)
 * took. A line without its `\n` before `to` is left for later: it is being written, or torn. Throws
 * ENOENT when the file is gone (compressed since): the caller reads the `.gz`.
 */
export async function readWholeLines(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): Promise<{ lines: string[]; consumed: number }> {
  // Counted only once the read succeeds: a read that fails is done again, from the `.gz`.
  const own: ReadStats = { corrupt: 0, tornTail: false };
  const splitter = new LineSplitter(own);
  let lines: string[] = [];
  for await (const piece of plainPieces(file, { offset: from, end: to }, own)) {
    const chunk = splitter.push(piece);
    if (chunk !== undefined) {
      lines = linesOf(chunk);
      break;
    }
  }
  stats.corrupt += own.corrupt;
  return { lines, consumed: splitter.consumed };
}

/**
 * Streams the records of a range of one segment (plain as it was when the read began, or compressed).
 * Lines that are not valid records are skipped and counted in `stats`, never fatal.
 */
export async function* readRangeRecords(range: ReadRange, stats: ReadStats): AsyncGenerator<ReadLine> {
  for await (const chunk of rangeChunks(range, stats)) {
    for (const line of linesOf(chunk)) {
      const record = parseRecord(line);
      if (record === undefined) stats.corrupt++;
      else yield { record, line };
    }
  }
}

/** readRangeRecords over a whole segment. */
export function readSegmentRecords(file: string, stats: ReadStats): AsyncGenerator<ReadLine> {
  return readRangeRecords({ file, from: 0 }, stats);
}

/** A part of a segment file to read: plain bytes [from, to), or gzip members [from, to) of a `.gz`. */
export interface ReadRange {
  file: string;
  from: number;
  to?: number;
}

export { isCompressed } from '../format/paths.js';

/**
 * Chunks of whole lines of a range of a plain or compressed segment, each ending in `\n`. A range of
 * a `.gz` names whole gzip members (one per index block); a `.gz` read whole is decompressed as one
 * stream. A compressed segment is sealed: a line it ends without `\n` is corrupt, where in a plain
 * segment it is torn. Lines over MAX_LINE_BYTES are skipped and counted as corrupt. No file stays
 * open while the caller holds a chunk.
 */
export async function* rangeChunks(range: ReadRange, stats: ReadStats): AsyncGenerator<Buffer> {
  const compressed = isCompressed(range.file);
  const splitter = new LineSplitter(stats);
  const to = range.to ?? Infinity;
  try {
    const pieces = compressed
      ? inflatedPieces(range.file, range.from, to, stats)
      : plainBytes(range.file, range.from, to, stats);
    for await (const piece of pieces) {
      const chunk = splitter.push(piece);
      if (chunk !== undefined) yield chunk;
    }
  } catch (err) {
    // Gone, plain file and `.gz` alike: prune removed the segment while it was read. Its events are
    // now before where the stream starts (format.md section 10): the read goes on without them.
    if (errnoCode(err) === 'ENOENT') return;
    if (!isZlibError(err)) throw err;
    // What was decompressed before the damage has been read; the rest of the segment cannot be.
    const gz = compressed ? range.file : `${range.file}.gz`;
    (stats.damaged ??= []).push(`${path.basename(gz)}: ${(err as Error).message}`);
    return;
  }
  if (splitter.unfinished > 0) {
    if (compressed) stats.corrupt++;
    else stats.tornTail = true;
  }
}

function isZlibError(err: unknown): boolean {
  return typeof (err as { errno?: unknown }).errno === 'number' && /^Z_/.test(errnoCode(err));
}
