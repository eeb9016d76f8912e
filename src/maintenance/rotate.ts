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

async function rotateJob(dir: string, job: string): Promise<RotateReport[]> {
  const reports: RotateReport[] = [];
  const { jobDir, manifest } = await openJob(dir, job);
  for (const { name, bytes } of await removeDeadTemps(jobDir))
    reports.push({ job, file: name, action: 'removed-temp', bytesBefore: bytes, bytesAfter: 0 });
  const streams = [...new Set((await readableSegments(jobDir)).map((s) => s.stream))];
  for (const stream of streams) {
    // Under the job's gate: prune cannot move the job away while this holds one of its streams.
    const lock = await lockStreamOf(jobDir, stream, manifest.log_id, `stream ${stream} of job ${job}`);
    try {
      if (lock !== undefined) {
        // The writer is gone: end its stream's active segment as a close would have.
        const tail = await recoverStream(jobDir, stream, manifest, (base) => segmentFileName(stream, base));
        if (tail.quarantined !== undefined) {
          const { file, bytes } = tail.quarantined;
          reports.push({
            job,
            file: path.relative(jobDir, file),
            action: 'quarantined',
            bytesBefore: bytes,
            bytesAfter: bytes,
          });
        }
      }
      const segments = await readableSegments(jobDir, stream);
      for (const [i, segment] of segments.entries()) {
        if (segment.compressed) continue;
        const file = path.join(jobDir, segment.file);
        const current = await currentSegmentFile(file);
        if (current?.file !== file) continue; // its writer compressed it meanwhile
        const before = current.size;
        const newest = i === segments.length - 1;
        if (newest && lock === undefined) {
          reports.push({
            job,
            file: segment.file,
            action: 'skipped-live',
            bytesBefore: before,
            bytesAfter: before,
          });
          continue;
        }
        if (before === 0) continue; // an empty active segment: nothing to seal
        const read = await readSegmentIndex(file, before);
        if (!('index' in read) || read.index.seal === undefined) {
          await sealSegment(file);
          reports.push({
            job,
            file: segment.file,
            action: 'sealed',
            bytesBefore: before,
            bytesAfter: before,
          });
        }
        let result: { compressedBytes: number } | undefined;
        try {
          result = await compressSegment(file);
        } catch (err) {
          // Its writer compressed it meanwhile.
          if (errnoCode(err) === 'ENOENT') continue;
          throw err;
        }
        if (result === undefined) continue; // compressed or pruned by another process meanwhile
        reports.push({
          job,
          file: `${segment.file}.gz`,
          action: 'compressed',
          bytesBefore: before,
          bytesAfter: result.compressedBytes,
        });
      }
    } finally {
      await lock?.release();
    }
  }
  return reports;
}
