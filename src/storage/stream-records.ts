import { DataError } from '../format/errors.js';
import {
  readManifest,
  readManifestSync,
  withNewestSegment,
  writeManifest,
  writeManifestSync,
  type Manifest,
} from './manifest.js';
import { segmentFileName, type SegmentName } from '../format/paths.js';
import { readableSegments } from './segments.js';

/**
 * The streams LOG.json records (format.md section 3): each stream a writer began, with the base seq of
 * its newest segment. A writer records a segment after creating it and before writing a line there, so
 * a recorded segment exists unless something removed it; prune never removes a stream's newest segment.
 */

/** The base seq of each stream's newest segment among `segments`. */
export function newestSegments(segments: SegmentName[]): Record<string, number> {
  const newest: Record<string, number> = {};
  for (const s of segments) newest[s.stream] = Math.max(newest[s.stream] ?? 0, s.baseSeq);
  return newest;
}

/**
 * The segment LOG.json records as `stream`'s newest when neither it nor any later segment of the
 * stream is among `segments`: the newest part of the stream is gone. Undefined when all is there.
 */
export function missingNewestSegment(
  manifest: Manifest,
  stream: string,
  segments: SegmentName[],
): string | undefined {
  const recorded = manifest.streams?.[stream]?.newest_segment;
  if (recorded === undefined) return undefined;
  const present = segments.some((s) => s.stream === stream && s.baseSeq >= recorded);
  return present ? undefined : segmentFileName(stream, recorded);
}

/** Refuses to write to a stream whose recorded newest segment is gone: its seqs would be used twice. */
export async function assertStreamWhole(jobDir: string, manifest: Manifest, stream: string): Promise<void> {
  const missing = missingNewestSegment(manifest, stream, await readableSegments(jobDir, stream));
  if (missing === undefined) return;
  throw new DataError(
    `stream ${stream} of ${jobDir} has lost its newest segment ${missing} (LOG.json records it): events acknowledged there are gone`,
    {
      hint: `restore the segment, or move the job directory aside to begin a new log; 'events verify --job ${manifest.job_id}' shows the damage`,
    },
  );
}

/**
 * Records in LOG.json that `stream`'s newest segment begins at `baseSeq`. The caller holds the job's
 * gate (format.md section 6). A log from before stream records gains the record of every stream found.
 */
export async function recordNewestSegment(jobDir: string, stream: string, baseSeq: number): Promise<void> {
  const manifest = await readManifest(jobDir);
  if (manifest === undefined) throw new DataError(`${jobDir} lost its LOG.json`);
  const onDisk = manifest.streams === undefined ? newestSegments(await readableSegments(jobDir)) : {};
  const updated = withNewestSegment(manifest, stream, baseSeq, onDisk);
  if (updated !== undefined) await writeManifest(jobDir, updated);
}

/** recordNewestSegment for a writer's rotation, which must not yield. */
export function recordNewestSegmentSync(jobDir: string, stream: string, baseSeq: number): void {
  const manifest = readManifestSync(jobDir);
  if (manifest === undefined) throw new DataError(`${jobDir} lost its LOG.json`);
  const updated = withNewestSegment(manifest, stream, baseSeq);
  if (updated !== undefined) writeManifestSync(jobDir, updated);
}

/** Whether LOG.json records `baseSeq` (or later) as `stream`'s newest segment. */
export function recordsSegmentSync(jobDir: string, stream: string, baseSeq: number): boolean {
  try {
    return (readManifestSync(jobDir)?.streams?.[stream]?.newest_segment ?? 0) >= baseSeq;
  } catch {
    return false;
  }
}
