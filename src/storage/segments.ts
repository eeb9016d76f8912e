import fs from 'node:fs/promises';
import { errnoCode } from '../format/errors.js';
import { parseSegmentFileName, type SegmentName, isCompressed } from '../format/paths.js';

/** Segment listing: which segment files a job directory holds, per stream in log order (format.md section 1). */

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
 * Entries of a job directory named like segments that are not regular files (a directory, a link, a
 * FIFO): never read, but damage where a segment should be.
 */
export async function irregularSegmentEntries(jobDir: string): Promise<SegmentName[]> {
  const entries = await fs.readdir(jobDir, { withFileTypes: true });
  return entries
    .filter((entry) => !entry.isFile())
    .map((entry) => parseSegmentFileName(entry.name))
    .filter((s): s is SegmentName => s !== undefined);
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
  for (const candidate of isCompressed(file) ? [file] : [file, `${file}.gz`]) {
    try {
      return { file: candidate, size: (await fs.stat(candidate)).size };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return undefined;
}

/**
 * Runs `read` on a listed segment as it is now (see currentSegmentFile). A segment that is compressed
 * (its plain file removed) or pruned while `read` runs makes it fail with ENOENT: it is looked at again,
 * a few times. Undefined when the segment is gone.
 */
export async function readCurrentSegment<T>(
  listed: string,
  read: (current: { file: string; size: number }) => Promise<T>,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    const current = await currentSegmentFile(listed);
    if (current === undefined) return undefined;
    try {
      return await read(current);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt === 3) throw err;
    }
  }
}
