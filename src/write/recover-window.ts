import path from 'node:path';
import type { SegmentName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { openRegular } from '../storage/fsutil.js';
import { isCompressed, rangeChunks, type ReadStats } from '../storage/line-reader.js';
import { readSegmentIndex } from '../storage/segment-index.js';
import { readCurrentSegment } from '../storage/segments.js';
import { scanTail } from './recover-tail.js';

/**
 * The records of the last `need` bytes of the segments before `segments[end]`, newest segment first
 * until the window is full, in log order. A compressed segment is read only in its last members (from
 * its index; whole when the index cannot be used). Records before the stream's `start` (segments that
 * a prune is removing) are left out, and the walk stops at the first kept segment or at a segment that
 * is gone (pruned since it was listed): nothing older than either is part of the stream any more.
 */
export async function recentBefore(
  jobDir: string,
  segments: SegmentName[],
  end: number,
  need: number,
  startSeq: number,
): Promise<EventRecord[]> {
  const parts: EventRecord[][] = [];
  for (let i = end - 1; i >= 0 && need > 0; i--) {
    const segment = segments[i] as SegmentName;
    const window = await segmentWindow(path.join(jobDir, segment.file), need);
    if (window === undefined) break;
    parts.push(window.records.filter((r) => r.seq >= startSeq));
    need -= window.size;
    if (segment.baseSeq <= startSeq) break;
  }
  return parts.reverse().flat();
}

/**
 * The records whose lines start in the last `need` plain bytes of a sealed segment, and its plain
 * size; undefined when the segment is gone. A plain file compressed since it was listed is read in its
 * `.gz`.
 */
function segmentWindow(
  listed: string,
  need: number,
): Promise<{ records: EventRecord[]; size: number } | undefined> {
  return readCurrentSegment(listed, (current) => windowOf(current.file, current.size, need));
}

/** segmentWindow of a segment file (plain or compressed) of `size` bytes. */
async function windowOf(
  file: string,
  size: number,
  need: number,
): Promise<{ records: EventRecord[]; size: number }> {
  if (!isCompressed(file)) {
    const handle = await openRegular(file, 'r');
    try {
      const scan = await scanTail(handle, Math.max(0, size - need), size, undefined);
      return { records: scan.records.map((r) => r.record), size };
    } finally {
      await handle.close();
    }
  }
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  const read = await readSegmentIndex(file, size);
  if ('index' in read && read.index.seal !== undefined) {
    // The members of the blocks that hold the last `need` bytes: a block entry gives both its plain
    // range (`off`) and its gzip member (`gz`), and a compressed segment's index gives every member.
    const plainSize = read.index.seal.bytes;
    const from = Math.max(0, plainSize - need);
    const blocks = read.index.blocks;
    const first = blocks.find((b) => b.off[1] > from);
    const lastBlock = blocks.at(-1);
    if (first?.gz === undefined || lastBlock?.gz === undefined) return { records: [], size: plainSize };
    const window = new RecordWindow(from);
    let offset = first.off[0];
    for await (const chunk of rangeChunks({ file, from: first.gz[0], to: lastBlock.gz[1] }, stats)) {
      offset = window.add(chunk, offset);
    }
    return { records: window.records(), size: plainSize };
  }
  // No usable index: decompress the whole segment, keeping only the lines that can still be in the
  // window (its end, and so the window's start, is known only at the end).
  const window = new RecordWindow(0);
  let offset = 0;
  for await (const chunk of rangeChunks({ file, from: 0 }, stats)) {
    window.from = Math.max(0, offset + chunk.length - need);
    offset = window.add(chunk, offset);
  }
  return { records: window.records(), size: offset };
}

/** The records of chunks of whole lines (in order) whose lines start at or after `from`, a plain offset. */
class RecordWindow {
  private kept: { start: number; record: EventRecord }[] = [];
  private head = 0;

  constructor(public from: number) {}

  /** Adds a chunk of whole lines that starts at plain offset `offset`; returns the offset after it. */
  add(chunk: Buffer, offset: number): number {
    const end = offset + chunk.length;
    if (end > this.from) {
      for (
        let lineStart = 0, nl = chunk.indexOf(0x0a);
        nl !== -1;
        lineStart = nl + 1, nl = chunk.indexOf(0x0a, lineStart)
      ) {
        if (offset + lineStart < this.from) continue;
        const record = parseRecord(chunk.toString('utf8', lineStart, nl));
        if (record !== undefined) this.kept.push({ start: offset + lineStart, record });
      }
    }
    // `from` moves on while a segment is read whole: what fell out of the window is let go.
    while (this.head < this.kept.length && (this.kept[this.head] as { start: number }).start < this.from) {
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
    return end;
  }

  records(): EventRecord[] {
    return this.kept
      .slice(this.head)
      .filter((r) => r.start >= this.from)
      .map((r) => r.record);
  }
}
