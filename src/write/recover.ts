import fs from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { parseMicros } from '../format/clock.js';
import { DataError, errnoCode } from '../format/errors.js';
import { fsyncDir, mkdirDurable, openRegular } from '../storage/fsutil.js';
import { isCompressed, rangeChunks, type ReadStats } from '../storage/line-reader.js';
import { readManifest, type Manifest } from '../storage/manifest.js';
import { QUARANTINE_DIR, type SegmentName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { readSegmentIndex, scanSegmentIndex, type SealEntry } from '../storage/segment-index.js';
import { readableSegments, readCurrentSegment } from '../storage/segments.js';

/**
 * How much of the end of the stream is read on open: enough for several maximal lines, and the window
 * of ids remembered for idempotent retries (docs/library.md), counted in plain bytes across segments.
 */
const TAIL_WINDOW = 4 * 1024 * 1024;

/** Where a stream stands when its writer opens it. */
export interface StreamTail {
  /** The segment to append to, and its size after recovery. */
  segmentFile: string;
  size: number;
  lastSeq: number;
  prev: string;
  lastTsUs: number;
  /**
   * The records of the last TAIL_WINDOW bytes of the stream (oldest first), whatever segments they are
   * in, plain or compressed: for idempotent retries across a restart.
   */
  recent: EventRecord[];
  quarantined: { file: string; bytes: number } | undefined;
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
  for (let attempt = 1; ; attempt++) {
    try {
      return await recoverOnce(jobDir, stream, manifest, segmentNameFor, chain);
    } catch (err) {
      // A segment before the active one was compressed or pruned while it was read (the writer holds
      // only its active segment): look again, with where LOG.json now says the stream starts.
      if (errnoCode(err) !== 'ENOENT' || attempt === 5) throw err;
      manifest = (await readManifest(jobDir)) ?? manifest;
    }
  }
}

async function recoverOnce(
  jobDir: string,
  stream: string,
  manifest: Manifest,
  segmentNameFor: (baseSeq: number) => string,
  chain: Chain,
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
      recent: await recentBefore(jobDir, segments, segments.length, TAIL_WINDOW, start.seq),
      quarantined: undefined,
    };
  }
  const file = path.join(jobDir, active.file);
  const handle = await openRegular(file, 'r+');
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
    // What of the window is still to be read in the segments before the active one.
    let need = windowStart > 0 ? 0 : Math.max(0, TAIL_WINDOW - scan.goodEnd);
    // segments[0 .. older) hold the rest of the window, newest last.
    let older = segments.length - 1;
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
        recent: await recentBefore(jobDir, segments, older, need, start.seq),
        quarantined,
      };
    }
    if (scan.records.length === 0 && previous !== undefined) {
      const whole = await scanWholeTail(path.join(jobDir, previous.file), chain);
      scan = { records: whole.records, goodEnd: scan.goodEnd };
      need = Math.max(0, need - whole.size);
      older--;
    }
    const last = scan.records.at(-1);
    if (last === undefined) {
      return { ...emptyTail(active.baseSeq, start.prev), segmentFile: active.file, quarantined };
    }
    // A sealed segment is never appended to again: the stream goes on in a new one.
    const index = await readSegmentIndex(file, scan.goodEnd);
    const sealed = 'index' in index && index.index.seal !== undefined;
    const before = await recentBefore(jobDir, segments, older, need, start.seq);
    return {
      segmentFile: sealed ? segmentNameFor(last.record.seq + 1) : active.file,
      size: sealed ? 0 : scan.goodEnd,
      lastSeq: last.record.seq,
      prev: last.hash,
      lastTsUs: parseMicros(last.record.ts),
      recent: before.concat(scan.records.map((r) => r.record)),
      quarantined,
    };
  } finally {
    await handle.close();
  }
}

/**
 * The records of the last `need` bytes of the segments before `segments[end]`, newest segment first
 * until the window is full, in log order. A compressed segment is read only in its last members (from
 * its index; whole when the index cannot be used). Records before the stream's `start` (segments that
 * a prune is removing) are left out, and the walk stops at the first kept segment or at a segment that
 * is gone (pruned since it was listed): nothing older than either is part of the stream any more.
 */
async function recentBefore(
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

/** The records in the tail window of a sealed segment, and its size. */
async function scanWholeTail(file: string, chain: Chain): Promise<TailScan & { size: number }> {
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
 */
async function scanTail(
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
  const file = path.join(dir, `${segmentFile}.${from}.${Date.now()}.torn`);
  await fs.writeFile(file, bytes);
  const copy = await openRegular(file, 'r');
  await copy.sync();
  await copy.close();
  await fsyncDir(dir);
  return { file, bytes: bytes.length };
}

/** The time of a segment's first record (read from its first line), or undefined when it has none. */
export async function segmentStartUs(file: string): Promise<number | undefined> {
  const handle = await openRegular(file, 'r');
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
