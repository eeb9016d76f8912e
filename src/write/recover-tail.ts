import fs from 'node:fs/promises';
import path from 'node:path';
import type { Chain } from '../format/chain.js';
import { DataError } from '../format/errors.js';
import { QUARANTINE_DIR, quarantineFileName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { fsyncDir, mkdirDurable, openRegular } from '../storage/fsutil.js';
import { readSegmentIndex, scanSegmentIndex, type SealEntry } from '../storage/segment-index.js';

/**
 * How much of the end of the stream is read on open: enough for several maximal lines, and the window
 * of ids remembered for idempotent retries (docs/library.md), counted in plain bytes across segments.
 */
export const TAIL_WINDOW = 4 * 1024 * 1024;

export interface TailScan {
  records: { record: EventRecord; hash: string }[];
  /** Byte offset just after the last good record (or the window start when there is none). */
  goodEnd: number;
}

/** The active segment's tail after recovery: what was scanned, from where, and what was cut off. */
export interface CutTail {
  windowStart: number;
  scan: TailScan;
  quarantined: { file: string; bytes: number } | undefined;
}

/**
 * Scans the end of the active segment (all of it when its last TAIL_WINDOW bytes hold no record) and
 * moves what follows the last good record to quarantine/, cutting it from the segment (format.md
 * section 7).
 */
export async function cutTornTail(
  handle: fs.FileHandle,
  jobDir: string,
  segmentFile: string,
  chain: Chain,
): Promise<CutTail> {
  const size = (await handle.stat()).size;
  let windowStart = Math.max(0, size - TAIL_WINDOW);
  let scan = await scanTail(handle, windowStart, size, chain);
  if (scan.records.length === 0 && windowStart > 0) {
    windowStart = 0;
    scan = await scanTail(handle, 0, size, chain);
  }
  let quarantined: CutTail['quarantined'];
  if (scan.goodEnd < size) {
    quarantined = await quarantine(handle, jobDir, segmentFile, scan.goodEnd, size);
    await handle.truncate(scan.goodEnd);
    await handle.sync();
  }
  return { windowStart, scan, quarantined };
}

/** The seal of a sealed segment: from its index, or (an index missing or bad) from its data. */
export async function sealOf(file: string, chain: Chain): Promise<SealEntry> {
  const read = await readSegmentIndex(file, (await fs.stat(file)).size);
  if ('index' in read && read.index.seal !== undefined) return read.index.seal;
  const scan = await scanSegmentIndex(file, { seal: true, chain });
  if (scan.seal === undefined || scan.seal.count === 0) throw new DataError(`${file} holds no events`);
  return scan.seal;
}

/** The records in the tail window of a sealed segment, and its size. */
export async function scanWholeTail(file: string, chain: Chain): Promise<TailScan & { size: number }> {
  const handle = await openRegular(file, 'r');
  try {
    const size = (await handle.stat()).size;
    return { ...(await scanTail(handle, Math.max(0, size - TAIL_WINDOW), size, chain)), size };
  } finally {
    await handle.close();
  }
}

/**
 * The records of the whole lines in [from, to) (`from` may be mid-line: that line is skipped), with
 * the hash of each line when a chain is given (else ''), and where the last good one ends.
 *
 * Not the shared stream walk (storage/stream-walk.ts): recovery cuts the file at `goodEnd`, so it
 * needs exact offsets in a window that starts mid-line, read through the handle it truncates, while
 * the walk reads whole segments by path and, past a line over MAX_LINE_BYTES that the reader drops,
 * no longer knows exact offsets (harmless in a report, not in an ftruncate).
 */
export async function scanTail(
  handle: fs.FileHandle,
  from: number,
  to: number,
  chain: Chain | undefined,
): Promise<TailScan> {
  const buffer = Buffer.alloc(to - from);
  await handle.read(buffer, 0, buffer.length, from);
  const records: TailScan['records'] = [];
  // A window that starts mid-file begins mid-line: skip to the first line start.
  let lineStart = from === 0 ? 0 : buffer.indexOf(0x0a) + 1;
  if (from > 0 && lineStart === 0) return { records, goodEnd: from };
  let goodEnd = from + lineStart;
  for (;;) {
    const newline = buffer.indexOf(0x0a, lineStart);
    if (newline === -1) break;
    const bytes = buffer.subarray(lineStart, newline);
    const record = parseRecord(bytes.toString('utf8'));
    if (record !== undefined) {
      records.push({ record, hash: chain === undefined ? '' : chain.hash(bytes) });
      goodEnd = from + newline + 1;
    }
    lineStart = newline + 1;
  }
  return { records, goodEnd };
}

async function quarantine(
  handle: fs.FileHandle,
  jobDir: string,
  segmentFile: string,
  from: number,
  to: number,
): Promise<{ file: string; bytes: number }> {
  const dir = path.join(jobDir, QUARANTINE_DIR);
  await mkdirDurable(dir);
  const bytes = Buffer.alloc(to - from);
  await handle.read(bytes, 0, bytes.length, from);
  const file = path.join(dir, quarantineFileName(segmentFile, from, Date.now()));
  await fs.writeFile(file, bytes);
  const copy = await openRegular(file, 'r');
  await copy.sync();
  await copy.close();
  await fsyncDir(dir);
  return { file, bytes: bytes.length };
}
