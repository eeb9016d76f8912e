import path from 'node:path';
import { parseMicros } from '../format/clock.js';
import { errnoCode } from '../format/errors.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { linesOf, rangeChunks, readWholeLines, type ReadStats } from '../storage/line-reader.js';
import { sizeOf } from './stream-positions.js';

/** Streams quiet for longer than this are polled less often (plus on change notifications). */
export const HOT_MS = 60_000;

export interface BatchEvent {
  record: EventRecord;
  line: string;
  tsUs: number;
}

/** One followed stream: where its reading stands. */
export interface Tracked {
  job: string;
  stream: string;
  jobDir: string;
  /** The segment being read (a plain file name) and the offset of the next whole line in it. */
  segment: string;
  offset: number;
  /** The last seq seen: lines at or before it are not emitted again. */
  seq: number;
  /** Until when (ms since the epoch) this stream is polled every tick rather than every few. */
  hotUntil: number;
  /** The current segment's plain file is gone and its `.gz` (if any) has been read. */
  compressedRead?: boolean;
}

/**
 * Reads what is new in one stream (at most a chunk) into `batch`, moving on through `segments` (its
 * segments' plain names, oldest first); true when more is waiting.
 */
export async function readStream(
  t: Tracked,
  segments: string[],
  stats: ReadStats,
  batch: BatchEvent[],
): Promise<boolean> {
  for (;;) {
    const next = segments[segments.indexOf(t.segment) + 1];
    const file = path.join(t.jobDir, t.segment);
    const size = await sizeOf(file);
    if (size === undefined) {
      // Compressed since it was last read: what is left of it comes from the `.gz` (seqs already
      // seen are skipped). Pruned: nothing is left. Then on to the next segment, once there is one.
      if (!t.compressedRead) {
        t.compressedRead = true;
        await readCompressed(t, `${file}.gz`, stats, batch);
      }
      if (next === undefined) return false;
      Object.assign(t, { segment: next, offset: 0, compressedRead: false });
      continue;
    }
    if (size < t.offset) {
      // Cut back (a recovered torn tail): read it again; seqs already seen are skipped.
      t.offset = 0;
      continue;
    }
    if (size > t.offset) {
      const read = await readPlain(t, file, size, stats, batch);
      // Compressed and removed since the stat (the file is opened per chunk): the next turn reads
      // the `.gz`.
      if (read === 'gone') continue;
      if (read === 'more') return true;
    }
    // A segment with a successor is sealed: once read (a torn remainder cannot grow), move on.
    if (next === undefined) return false;
    stats.tornTail ||= t.offset < size;
    Object.assign(t, { segment: next, offset: 0 });
  }
}

/** Whole lines of a plain segment from the stream's offset up to `size`, into the batch. */
async function readPlain(
  t: Tracked,
  file: string,
  size: number,
  stats: ReadStats,
  batch: BatchEvent[],
): Promise<'gone' | 'more' | 'read'> {
  let read: { lines: string[]; consumed: number };
  try {
    read = await readWholeLines(file, t.offset, size, stats);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'gone';
    throw err;
  }
  const { lines, consumed } = read;
  t.offset += consumed;
  t.hotUntil = Date.now() + HOT_MS;
  collect(t, lines, stats, batch);
  return t.offset < size && consumed > 0 ? 'more' : 'read';
}

async function readCompressed(
  t: Tracked,
  gzFile: string,
  stats: ReadStats,
  batch: BatchEvent[],
): Promise<void> {
  if ((await sizeOf(gzFile)) === undefined) return;
  for await (const chunk of rangeChunks({ file: gzFile, from: 0 }, stats)) {
    collect(t, linesOf(chunk), stats, batch);
  }
}

/** Parses new lines of a stream into the batch: corrupt ones counted, seqs already seen skipped. */
function collect(t: Tracked, lines: string[], stats: ReadStats, batch: BatchEvent[]): void {
  for (const line of lines) {
    const record = parseRecord(line);
    if (record === undefined) stats.corrupt++;
    else if (record.seq > t.seq) {
      t.seq = record.seq;
      batch.push({ record, line, tsUs: parseMicros(record.ts) });
    }
  }
}
