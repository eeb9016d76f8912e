import path from 'node:path';
import { compressSegment } from '../storage/compress.js';
import { errnoCode } from '../format/errors.js';
import { removeDeadTemps } from '../storage/dead-temps.js';
import { isGone, lockStreamOf } from '../storage/job-gate.js';
import { segmentFileName } from '../format/paths.js';
import { recoverStream } from '../write/recover.js';
import { currentSegmentFile, readableSegments } from '../storage/segments.js';
import { readSegmentIndex, sealSegment } from '../storage/segment-index.js';
import { listJobIds, openJob } from '../storage/jobs-dir.js';
import type { Manifest } from '../storage/manifest.js';

export type RotateAction = 'quarantined' | 'sealed' | 'compressed' | 'removed-temp' | 'skipped-live';

/** One thing `events rotate` did (or, for a live writer's active segment, left alone). */
export interface RotateReport {
  job: string;
  file: string;
  action: RotateAction;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * `events rotate`: for each stream, seals the active segment of a writer that is gone (after moving a
 * torn tail to quarantine, as a writer's own reopen would), compresses every sealed segment still
 * plain (and finishes a compression a crash interrupted), and removes temp files of dead processes.
 * A stream with a live writer keeps its active segment: only its older, sealed segments are touched.
 */
export async function rotateJobs(dir: string, jobs: string[] = []): Promise<RotateReport[]> {
  const reports: RotateReport[] = [];
  for (const job of jobs.length > 0 ? jobs : await listJobIds(dir)) {
    try {
      reports.push(...(await rotateJob(dir, job)));
    } catch (err) {
      // Removed by prune since it was listed: nothing of it is left to rotate.
      if (!isGone(err) || jobs.length > 0) throw err;
    }
  }
  return reports;
}

/** One job: dead temps removed, then each stream in turn under its lock (or beside its live writer). */
async function rotateJob(dir: string, job: string): Promise<RotateReport[]> {
  const reports: RotateReport[] = [];
  const report: Report = (r) => reports.push({ job, ...r });
  const { jobDir, manifest } = await openJob(dir, job);
  for (const { name, bytes } of await removeDeadTemps(jobDir))
    report({ file: name, action: 'removed-temp', bytesBefore: bytes, bytesAfter: 0 });
  const streams = [...new Set((await readableSegments(jobDir)).map((s) => s.stream))];
  for (const stream of streams) {
    // Under the job's gate: prune cannot move the job away while this holds one of its streams.
    const lock = await lockStreamOf(jobDir, stream, manifest.log_id, `stream ${stream} of job ${job}`);
    try {
      // The writer is gone: end its stream's active segment as a close would have.
      if (lock !== undefined) await endActiveSegment(jobDir, stream, manifest, report);
      const segments = await readableSegments(jobDir, stream);
      for (const [i, segment] of segments.entries()) {
        if (segment.compressed) continue;
        // The newest segment is where a live writer (one whose lock this did not get) appends.
        const live = i === segments.length - 1 && lock === undefined;
        await rotateSegment(jobDir, segment.file, live, report);
      }
    } finally {
      await lock?.release();
    }
  }
  return reports;
}

type Report = (report: Omit<RotateReport, 'job'>) => void;

/** Recovers a stream whose writer is gone, as its reopen would: a torn tail goes to quarantine. */
async function endActiveSegment(jobDir: string, stream: string, manifest: Manifest, report: Report) {
  const tail = await recoverStream(jobDir, stream, manifest, (base) => segmentFileName(stream, base));
  if (tail.quarantined !== undefined) {
    const { file, bytes } = tail.quarantined;
    report({
      file: path.relative(jobDir, file),
      action: 'quarantined',
      bytesBefore: bytes,
      bytesAfter: bytes,
    });
  }
}

/** Seals a plain segment if its index has no seal yet, then compresses it (format.md sections 8, 9). */
async function rotateSegment(jobDir: string, name: string, live: boolean, report: Report): Promise<void> {
  const file = path.join(jobDir, name);
  const current = await currentSegmentFile(file);
  if (current?.file !== file) return; // its writer compressed it meanwhile
  const before = current.size;
  if (live) {
    report({ file: name, action: 'skipped-live', bytesBefore: before, bytesAfter: before });
    return;
  }
  if (before === 0) return; // an empty active segment: nothing to seal
  const read = await readSegmentIndex(file, before);
  if (!('index' in read) || read.index.seal === undefined) {
    await sealSegment(file);
    report({ file: name, action: 'sealed', bytesBefore: before, bytesAfter: before });
  }
  let result: { compressedBytes: number } | undefined;
  try {
    result = await compressSegment(file);
  } catch (err) {
    // Its writer compressed it meanwhile.
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (result === undefined) return; // compressed or pruned by another process meanwhile
  report({
    file: `${name}.gz`,
    action: 'compressed',
    bytesBefore: before,
    bytesAfter: result.compressedBytes,
  });
}
