import fs from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from './chain.js';
import { parseMicros } from './clock.js';
import { DataError, errnoCode } from './errors.js';
import { fsyncDir, mkdirDurable } from './fsutil.js';
import type { Manifest } from './manifest.js';
import { parseSegmentFileName, QUARANTINE_DIR, type SegmentName } from './paths.js';
import { parseRecord } from './record.js';
import type { EventRecord } from './schema/envelope.js';
import { readSegmentIndex, scanSegmentIndex, type SealEntry } from './segment-index.js';

/** How much of the end of the active segment is read on open: enough for several maximal lines. */
const TAIL_WINDOW = 4 * 1024 * 1024;

/** Where a stream stands when its writer opens it. */
export interface StreamTail {
  /** The segment to append to, and its size after recovery. */
  segmentFile: string;
  size: number;
  lastSeq: number;
  prev: string;
  lastTsUs: number;
  /** The last records of the stream, for idempotent retries across a restart. */
  recent: EventRecord[];
  quarantined: { file: string; bytes: number } | undefined;
}

/** The segments of a job directory, per stream, in log order. */
export async function listSegments(jobDir: string, stream?: string): Promise<SegmentName[]> {
  // Only regular files: a segment name on a symbolic link could lead outside the events directory.
  const entries = await fs.readdir(jobDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => parseSegmentFileName(entry.name))
    .filter((s): s is SegmentName => s !== undefined && (stream === undefined || s.stream === stream))
    .sort((a, b) =>
      a.stream === b.stream
        ? a.baseSeq - b.baseSeq || Number(a.compressed) - Number(b.compressed)
        : a.stream < b.stream
          ? -1
          : 1,
    );
}

/**
 * The segments to read, per stream in log order: one per base seq, the plain file when a segment
 * exists both plain and compressed (a compression that has not removed the plain file yet).
 */
export async function readableSegments(jobDir: string, stream?: string): Promise<SegmentName[]> {
  const segments = await listSegments(jobDir, stream);
  return segments.filter((s, i) => {
    const twin = s.compressed ? segments[i - 1] : undefined;
    return !(twin !== undefined && twin.stream === s.stream && twin.baseSeq === s.baseSeq);
  });
}

/**
 * A listed segment as it is now: its file and size, or its `.gz` when a writer compressed it (and
 * removed the plain file) since it was listed; undefined when it is gone (pruned).
 */
export async function currentSegmentFile(file: string): Promise<{ file: string; size: number } | undefined> {
  for (const candidate of file.endsWith('.gz') ? [file] : [file, `${file}.gz`]) {
    try {
      return { file: candidate, size: (await fs.stat(candidate)).size };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return undefined;
}

/**
 * Finds where a stream ends. A torn last line (a crash mid-write) and any unparsable lines after the
 * last good record are moved to `quarantine/` and cut off, so the stream continues its seq and chain
 * from the last whole record (DESIGN.md section 6).
 */
export async function recoverStream(
  jobDir: string,
  stream: string,
  manifest: Manifest,
  segmentNameFor: (baseSeq: number) => string,
  chain: Chain = chainOf(manifest),
): Promise<StreamTail> {
  const start = manifest.start[stream] ?? { seq: 1, prev: chain.genesis(manifest.log_id, stream) };
  const segments = await readableSegments(jobDir, stream);
  const active = segments.at(-1);
  if (active === undefined) {
    return { ...emptyTail(start.seq, start.prev), segmentFile: segmentNameFor(start.seq) };
  }
  if (active.compressed) {
    // Sealed and compressed: the stream goes on in a new segment after it.
    const seal = await sealOf(path.join(jobDir, active.file), chain);
    return {
      segmentFile: segmentNameFor(seal.seq[1] + 1),
      size: 0,
      lastSeq: seal.seq[1],
      prev: seal.last_hash,
      lastTsUs: parseMicros(seal.ts[1]),
      recent: [],
      quarantined: undefined,
    };
  }
  const file = path.join(jobDir, active.file);
  const handle = await fs.open(file, 'r+');
  try {
    const size = (await handle.stat()).size;
    let windowStart = Math.max(0, size - TAIL_WINDOW);
    let scan = await scanTail(handle, windowStart, size, chain);
    if (scan.records.length === 0 && windowStart > 0) {
      windowStart = 0;
      scan = await scanTail(handle, 0, size, chain);
    }
    let quarantined: StreamTail['quarantined'];
    if (scan.goodEnd < size) {
      quarantined = await quarantine(handle, jobDir, active.file, scan.goodEnd, size);
      await handle.truncate(scan.goodEnd);
      await handle.sync();
    }
    // A segment just started by a rotation is empty: the chain continues from the one before it.
    const previous = segments.at(-2);
    if (scan.records.length === 0 && previous !== undefined && previous.compressed) {
      const seal = await sealOf(path.join(jobDir, previous.file), chain);
      const tsUs = parseMicros(seal.ts[1]);
      return {
        segmentFile: active.file,
        size: 0,
        lastSeq: seal.seq[1],
        prev: seal.last_hash,
        lastTsUs: tsUs,
        recent: [],
        quarantined,
      };
    }
    if (scan.records.length === 0 && previous !== undefined) {
      scan = { ...(await scanWholeTail(path.join(jobDir, previous.file), chain)), goodEnd: scan.goodEnd };
    }
    const last = scan.records.at(-1);
    if (last === undefined) {
      return { ...emptyTail(active.baseSeq, start.prev), segmentFile: active.file, quarantined };
    }
    // A sealed segment is never appended to again: the stream goes on in a new one.
    const index = await readSegmentIndex(file, scan.goodEnd);
    const sealed = 'index' in index && index.index.seal !== undefined;
    return {
      segmentFile: sealed ? segmentNameFor(last.record.seq + 1) : active.file,
      size: sealed ? 0 : scan.goodEnd,
      lastSeq: last.record.seq,
      prev: last.hash,
      lastTsUs: parseMicros(last.record.ts),
      recent: scan.records.map((r) => r.record),
      quarantined,
    };
  } finally {
    await handle.close();
  }
}

function emptyTail(nextSeq: number, prev: string): Omit<StreamTail, 'segmentFile'> {
  return { size: 0, lastSeq: nextSeq - 1, prev, lastTsUs: 0, recent: [], quarantined: undefined };
}

interface TailScan {
  records: { record: EventRecord; hash: string }[];
  /** Byte offset just after the last good record (or the window start when there is none). */
  goodEnd: number;
}

/** The seal of a sealed segment: from its index, or (an index missing or bad) from its data. */
async function sealOf(file: string, chain: Chain): Promise<SealEntry> {
  const read = await readSegmentIndex(file, (await fs.stat(file)).size);
  if ('index' in read && read.index.seal !== undefined) return read.index.seal;
  const scan = await scanSegmentIndex(file, { seal: true, chain });
  if (scan.seal === undefined || scan.seal.count === 0) throw new DataError(`${file} holds no events`);
  return scan.seal;
}

/** The records in the tail window of a sealed segment. */
async function scanWholeTail(file: string, chain: Chain): Promise<TailScan> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    return await scanTail(handle, Math.max(0, size - TAIL_WINDOW), size, chain);
  } finally {
    await handle.close();
  }
}

async function scanTail(handle: fs.FileHandle, from: number, to: number, chain: Chain): Promise<TailScan> {
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
      records.push({ record, hash: chain.hash(bytes) });
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
  const file = path.join(dir, `${segmentFile}.${from}.${Date.now()}.torn`);
  await fs.writeFile(file, bytes);
  const copy = await fs.open(file, 'r');
  await copy.sync();
  await copy.close();
  await fsyncDir(dir);
  return { file, bytes: bytes.length };
}

/** The time of a segment's first record (read from its first line), or undefined when it has none. */
export async function segmentStartUs(file: string): Promise<number | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
    const record = newline === -1 ? undefined : parseRecord(buffer.toString('utf8', 0, newline));
    return record === undefined ? undefined : parseMicros(record.ts);
  } finally {
    await handle.close();
  }
}
