import fsp from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import type { SegmentName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import { openRegular } from '../storage/fsutil.js';
import { listJobIds, openJob } from '../storage/jobs-dir.js';
import { linesOf, rangeChunks, type ReadStats } from '../storage/line-reader.js';
import { readIndexTail } from '../storage/segment-index.js';
import { listSegments } from '../storage/segments.js';

/**
 * Where each stream stood when a follow began (`${job}/${stream}` → position): a segment (its plain
 * name) and the offset of the next whole line; for a stream whose newest segment is compressed (a job
 * that ended), the end of that segment and its last seq, so that nothing before it is read again
 * (issue 11).
 */
export type StreamPositions = Map<string, { segment: string; offset: number; lastSeq?: number }>;

/** The newest segment and its size for every stream of the given jobs (all jobs when none). */
export async function snapshotStreams(dir: string, jobs: string[] = []): Promise<StreamPositions> {
  const positions: StreamPositions = new Map();
  for (const job of jobs.length > 0 ? jobs : await listJobIds(dir)) {
    const { jobDir } = await openJob(dir, job);
    const segments = await listSegments(jobDir);
    for (const segment of newestPerStream(segments)) {
      const position = await positionInPlain(path.join(jobDir, segment.file));
      if (position !== undefined)
        positions.set(`${job}/${segment.stream}`, { segment: segment.file, ...position });
    }
    // After the plain ones: a stream whose newest segment is compressed ends there.
    for (const ended of endedStreams(segments)) {
      const end = await endOfCompressed(path.join(jobDir, ended.file));
      if (end !== undefined)
        positions.set(`${job}/${ended.stream}`, { segment: plainName(ended.file), ...end });
    }
  }
  return positions;
}

/** Where a stream stands in its active (plain) segment; the end of its `.gz` if compressed since. */
async function positionInPlain(file: string): Promise<{ offset: number; lastSeq?: number } | undefined> {
  const size = await sizeOf(file);
  // Compressed since it was listed: the stream stands at the end of its `.gz`.
  if (size === undefined) return endOfCompressed(`${file}.gz`);
  const offset = await lineStartAtOrBefore(file, size).catch(() => undefined);
  return offset === undefined ? undefined : { offset };
}

/** The start of the line that `offset` falls in (`offset` itself at a line start): never mid-line. */
async function lineStartAtOrBefore(file: string, offset: number): Promise<number> {
  const handle = await openRegular(file, 'r');
  try {
    let end = offset;
    while (end > 0) {
      const start = Math.max(0, end - 64 * 1024);
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      const nl = buffer.lastIndexOf(0x0a);
      if (nl !== -1) return start + nl + 1;
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** A file's size, or undefined when it is gone. */
export async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The newest segment of each stream whose newest segment is compressed (its writer sealed it). */
function endedStreams(segments: SegmentName[]): SegmentName[] {
  const newest = new Map<string, SegmentName>();
  for (const s of segments) newest.set(s.stream, s);
  return [...newest.values()].filter((s) => s.compressed);
}

/** The plain size and last seq of a compressed segment: from its index, else by reading it. */
async function endOfCompressed(gzFile: string): Promise<{ offset: number; lastSeq: number } | undefined> {
  const size = await sizeOf(gzFile);
  if (size === undefined) return undefined;
  const tail = await readIndexTail(gzFile, size);
  if (tail !== undefined) return { offset: tail.seal.bytes, lastSeq: tail.seal.seq[1] };
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  let offset = 0;
  let lastSeq = 0;
  for await (const chunk of rangeChunks({ file: gzFile, from: 0 }, stats)) {
    offset += chunk.length;
    for (const line of linesOf(chunk)) lastSeq = parseRecord(line)?.seq ?? lastSeq;
  }
  return { offset, lastSeq };
}

/** The newest segment of each stream that is still plain (the active one): where following begins. */
function newestPerStream(segments: SegmentName[]): SegmentName[] {
  const newest = new Map<string, SegmentName>();
  for (const s of segments) if (!s.compressed) newest.set(s.stream, s);
  return [...newest.values()];
}

/** A segment's plain name (`.gz` dropped): followed streams track segments by it. */
export function plainName(file: string): string {
  return file.replace(/\.gz$/, '');
}
