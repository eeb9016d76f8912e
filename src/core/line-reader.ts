import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { parseRecord } from './record.js';
import type { EventRecord } from './schema/envelope.js';

/** What a read skipped: corrupt lines are counted; a torn last line is "not yet written". */
export interface ReadStats {
  corrupt: number;
  /** The file ended in a line without `\n` (a write in progress, or a crash): not counted as corrupt. */
  tornTail: boolean;
  /** Segment indexes that disagreed with their segment (which was scanned instead). */
  indexProblems?: string[];
  /** Compressed segments that could not be read to their end (a corrupt or truncated gzip). */
  damaged?: string[];
  /** Bytes read from disk (compressed bytes for a `.gz`): what a query cost. */
  bytesRead?: number;
}

export interface ReadLine {
  record: EventRecord;
  /** The line as read, without `\n`. */
  line: string;
}

const CHUNK = 256 * 1024;

/**
 * Reads whole lines between `from` (a line start) and `to` into `buffer` (growing it only for a line
 * longer than it) and returns the bytes up to and including the last `\n` read. A line without its
 * `\n` before `to` is left for later: it is being written, or torn.
 */
async function readWholeChunk(
  handle: fs.FileHandle,
  from: number,
  to: number,
  buffer: Buffer,
): Promise<{ bytes: Buffer; buffer: Buffer }> {
  for (;;) {
    const length = Math.min(buffer.length, to - from);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    const end = bytesRead === 0 ? -1 : buffer.lastIndexOf(0x0a, bytesRead - 1);
    if (end === -1 && length < to - from && bytesRead === length) {
      buffer = Buffer.allocUnsafe(buffer.length * 2);
      continue;
    }
    return { bytes: buffer.subarray(0, end + 1), buffer };
  }
}

/** The whole lines between `from` (a line start) and `to`, as strings; see readWholeChunk. */
export async function readWholeLines(
  handle: fs.FileHandle,
  from: number,
  to: number,
): Promise<{ lines: string[]; consumed: number }> {
  const { bytes } = await readWholeChunk(handle, from, to, Buffer.allocUnsafe(CHUNK));
  const lines = linesOf(bytes);
  return { lines, consumed: bytes.length };
}

/**
 * The bytes of one segment from `from` (a line start) to its size when the read began (a writer may
 * append meanwhile), a chunk of whole lines at a time. One buffer is reused: a chunk is valid only
 * until the next is asked for, which keeps a read of any size at a steady few hundred KiB. A last line
 * without `\n` is torn: noted, not returned.
 */
export async function* segmentChunks(
  file: string,
  stats: ReadStats,
  from = 0,
  to?: number,
): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const size = Math.min(to ?? Infinity, (await handle.stat()).size);
    let buffer: Buffer = Buffer.allocUnsafe(CHUNK);
    for (let offset = from; offset < size;) {
      const chunk = await readWholeChunk(handle, offset, size, buffer);
      buffer = chunk.buffer;
      if (chunk.bytes.length === 0) {
        stats.tornTail = true;
        return;
      }
      offset += chunk.bytes.length;
      countRead(stats, chunk.bytes.length);
      yield chunk.bytes;
    }
  } finally {
    await handle.close();
  }
}

/** The lines of a chunk of whole lines (it ends with `\n`), without their `\n`. */
export function linesOf(chunk: Buffer): string[] {
  const lines: string[] = [];
  for (let start = 0, nl = chunk.indexOf(0x0a); nl !== -1; start = nl + 1, nl = chunk.indexOf(0x0a, start)) {
    lines.push(chunk.toString('utf8', start, nl));
  }
  return lines;
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

const gunzip = promisify(zlib.gunzip);

/** A part of a segment file to read: plain bytes [from, to), or gzip members [from, to) of a `.gz`. */
export interface ReadRange {
  file: string;
  from: number;
  to?: number;
}

/** Whether a segment file is compressed (`.jsonl.gz`). */
export function isCompressed(file: string): boolean {
  return file.endsWith('.gz');
}

/**
 * Chunks of whole lines of a range of a plain or compressed segment. A range of a `.gz` names whole
 * gzip members (one per index block), which are decompressed off the event loop; a `.gz` read whole is
 * decompressed as a stream. A compressed segment is sealed: it never ends in a torn line.
 */
export async function* rangeChunks(range: ReadRange, stats: ReadStats): AsyncGenerator<Buffer> {
  if (!isCompressed(range.file)) {
    try {
      yield* segmentChunks(range.file, stats, range.from, range.to);
    } catch (err) {
      // Compressed (and the plain file removed) since the segments were listed: the same bytes are
      // in the `.gz`, at the same offsets once decompressed.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      yield* plainWindowOfGzip(`${range.file}.gz`, range.from, range.to ?? Infinity, stats);
    }
    return;
  }
  try {
    yield* range.to === undefined
      ? gunzipStream(range.file, range.from, stats)
      : gunzipMembers(range as Required<ReadRange>, stats);
  } catch (err) {
    if (
      typeof (err as { errno?: unknown }).errno !== 'number' ||
      !/^Z_/.test(String((err as NodeJS.ErrnoException).code))
    ) {
      throw err;
    }
    // What was decompressed before the damage has been read; the rest of the segment cannot be.
    (stats.damaged ??= []).push(`${path.basename(range.file)}: ${(err as Error).message}`);
  }
}

async function* gunzipMembers(range: Required<ReadRange>, stats: ReadStats): AsyncGenerator<Buffer> {
  countRead(stats, range.to - range.from);
  const handle = await fs.open(range.file, 'r');
  let compressed: Buffer;
  try {
    compressed = Buffer.alloc(range.to - range.from);
    await handle.read(compressed, 0, compressed.length, range.from);
  } finally {
    await handle.close();
  }
  yield await gunzip(compressed);
}

async function* gunzipStream(file: string, from: number, stats: ReadStats): AsyncGenerator<Buffer> {
  countRead(stats, Math.max(0, (await fs.stat(file)).size - from));
  let carry: Buffer = Buffer.alloc(0);
  for await (const piece of createReadStream(file, { start: from }).pipe(zlib.createGunzip())) {
    const data = carry.length > 0 ? Buffer.concat([carry, piece as Buffer]) : (piece as Buffer);
    const end = data.lastIndexOf(0x0a);
    carry = data.subarray(end + 1);
    if (end >= 0) yield data.subarray(0, end + 1);
  }
  if (carry.length > 0) stats.corrupt++;
}

/** The decompressed bytes [from, to) of a `.gz` (whole lines, as the plain file had them). */
async function* plainWindowOfGzip(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  let position = 0;
  for await (const chunk of gunzipStream(file, 0, stats)) {
    const start = position;
    position += chunk.length;
    if (position <= from) continue;
    if (start >= to) return;
    yield chunk.subarray(Math.max(0, from - start), Math.min(chunk.length, to - start));
  }
}

function countRead(stats: ReadStats, bytes: number): void {
  stats.bytesRead = (stats.bytesRead ?? 0) + bytes;
}
