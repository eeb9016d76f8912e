import fs from 'node:fs/promises';
import { parseRecord } from './record.js';
import type { EventRecord } from './schema/envelope.js';

/** What a read skipped: corrupt lines are counted; a torn last line is "not yet written". */
export interface ReadStats {
  corrupt: number;
  /** The file ended in a line without `\n` (a write in progress, or a crash): not counted as corrupt. */
  tornTail: boolean;
}

export interface ReadLine {
  record: EventRecord;
  /** The line as read, without `\n`. */
  line: string;
}

const CHUNK = 1024 * 1024;

/**
 * The whole lines between `from` and `to` (a line start and a size), reading one chunk, or more only
 * when a single line is longer than a chunk. `consumed` is the bytes of the lines returned: a line
 * without its `\n` before `to` is left for later (it is being written, or torn).
 */
export async function readWholeLines(
  handle: fs.FileHandle,
  from: number,
  to: number,
): Promise<{ lines: string[]; consumed: number }> {
  for (let want = CHUNK; ; want *= 2) {
    const length = Math.min(want, to - from);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    const end = bytesRead === 0 ? -1 : buffer.lastIndexOf(0x0a, bytesRead - 1);
    if (end === -1 && length < to - from && bytesRead === length) continue;
    const lines: string[] = [];
    let start = 0;
    for (
      let nl = end === -1 ? -1 : buffer.indexOf(0x0a);
      nl !== -1 && nl <= end;
      nl = buffer.indexOf(0x0a, start)
    ) {
      lines.push(buffer.toString('utf8', start, nl));
      start = nl + 1;
    }
    return { lines, consumed: end + 1 };
  }
}

/**
 * The lines of one segment from `from` (a line start) to its size when the read began (a writer may
 * append meanwhile), a chunk at a time. A last line without `\n` is torn: noted, not returned.
 */
export async function* segmentLineChunks(file: string, stats: ReadStats, from = 0): AsyncGenerator<string[]> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    for (let offset = from; offset < size;) {
      const { lines, consumed } = await readWholeLines(handle, offset, size);
      if (consumed === 0) {
        stats.tornTail = true;
        return;
      }
      offset += consumed;
      yield lines;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Streams the records of one plain segment, as it was when the read began. Lines that are not valid
 * records are skipped and counted in `stats`, never fatal.
 */
export async function* readSegmentRecords(file: string, stats: ReadStats): AsyncGenerator<ReadLine> {
  for await (const lines of segmentLineChunks(file, stats)) {
    for (const line of lines) {
      const record = parseRecord(line);
      if (record === undefined) stats.corrupt++;
      else yield { record, line };
    }
  }
}
