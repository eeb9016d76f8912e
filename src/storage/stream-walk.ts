import crypto from 'node:crypto';
import path from 'node:path';
import type { Chain } from '../format/chain.js';
import type { SegmentName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { rangeChunks, type ReadStats } from './line-reader.js';

/** A segment of the walk is about to be read. */
export interface SegmentBegin {
  kind: 'begin';
  segment: SegmentName;
  /** The segment's path. */
  file: string;
  /** Whether it is the last segment walked (the active one, for a whole stream). */
  newest: boolean;
}

/** One whole line of a segment (a torn last line is not one: see SegmentEnd's stats). */
export interface WalkLine {
  kind: 'line';
  segment: SegmentName;
  /** Byte offset of the line in the segment (of its decompressed bytes for a `.gz`). */
  offset: number;
  /** The line without its `\n`: a view valid only until the walk goes on. */
  bytes: Buffer;
  /** The record, or undefined for a line that is not a valid record (counted in stats.corrupt). */
  record: EventRecord | undefined;
  /** The line's chain hash (format.md section 5): the next line's `prev`. */
  hash: string;
}

/** A segment has been read, to its end or up to `error`. */
export interface SegmentEnd {
  kind: 'end';
  segment: SegmentName;
  file: string;
  newest: boolean;
  /** The bytes of whole lines read: the segment's size, less a torn tail. */
  bytes: number;
  /** SHA-256 (hex) of those bytes, with `digest`: what a seal records (format.md section 8). */
  sha256: string | undefined;
  /** What the read of this segment skipped: corrupt lines, a torn tail, damaged gzip data. */
  stats: ReadStats;
  /** Why the segment could not be read to its end (a gzip that is damaged is in stats.damaged). */
  error: Error | undefined;
}

export type WalkEvent = SegmentBegin | WalkLine | SegmentEnd;

export interface WalkOptions {
  /** Compute each segment's SHA-256 (SegmentEnd.sha256). */
  digest?: boolean;
}

/**
 * The lines of a stream's segments in log order, plain or compressed, each with its record and chain
 * hash, between a begin and an end event for each segment. A failure to read a segment ends that
 * segment (SegmentEnd.error) and the walk goes on with the next: whoever needs it to stop throws it.
 * The one walk over a stream that verify, the job summary and the head lookup share.
 */
export async function* walkStream(
  jobDir: string,
  segments: readonly SegmentName[],
  chain: Chain,
  options: WalkOptions = {},
): AsyncGenerator<WalkEvent> {
  for (const [i, segment] of segments.entries()) {
    const file = path.join(jobDir, segment.file);
    const newest = i === segments.length - 1;
    yield { kind: 'begin', segment, file, newest };
    const stats: ReadStats = { corrupt: 0, tornTail: false };
    const sha = options.digest === true ? crypto.createHash('sha256') : undefined;
    let offset = 0;
    let error: Error | undefined;
    try {
      for await (const chunk of rangeChunks({ file, from: 0 }, stats)) {
        sha?.update(chunk);
        for (
          let start = 0, nl = chunk.indexOf(0x0a);
          nl !== -1;
          start = nl + 1, nl = chunk.indexOf(0x0a, start)
        ) {
          const bytes = chunk.subarray(start, nl);
          const record = parseRecord(bytes.toString('utf8'));
          if (record === undefined) stats.corrupt++;
          yield { kind: 'line', segment, offset: offset + start, bytes, record, hash: chain.hash(bytes) };
        }
        offset += chunk.length;
      }
    } catch (err) {
      error = err as Error;
    }
    yield { kind: 'end', segment, file, newest, bytes: offset, sha256: sha?.digest('hex'), stats, error };
  }
}
