import fs from 'node:fs/promises';
import path from 'node:path';
import { compressSegment } from '../storage/compress.js';
import { DataError } from '../format/errors.js';
import { pathExists, writeFileAtomicFrom } from '../storage/fsutil.js';
import { isCompressed, rangeChunks, type ReadStats } from '../storage/line-reader.js';
import { isLockHeld } from '../storage/lock.js';
import { JOB_SUMMARY_FILE, lockFileName } from '../format/paths.js';
import { currentSegmentFile, readableSegments } from '../storage/segments.js';
import { isGone, withJobGate } from '../storage/job-gate.js';
import { readManifest } from '../storage/manifest.js';
import {
  checkSegmentIndex,
  indexFileOf,
  readSegmentIndex,
  scanSegmentIndex,
  sealSegment,
  writeSegmentIndex,
  type SealEntry,
} from '../storage/segment-index.js';
import { listJobIds, openJob } from '../storage/jobs-dir.js';

export type IndexStatus = 'ok' | 'missing' | 'bad' | 'rebuilt' | 'live';

/** One segment's index, as `events index` reports it. */
export interface IndexReport {
  job: string;
  segment: string;
  status: IndexStatus;
  /** What disagreed (bad), or what was done (rebuilt). */
  detail?: string;
}

/** Checks every segment index of the jobs (all when none) against its segment. */
export async function checkIndexes(dir: string, jobs: string[] = []): Promise<IndexReport[]> {
  return forEachSegment(dir, jobs, async (job, file) => {
    const segment = path.basename(file);
    if (!(await pathExists(indexFileOf(file)))) return { job, segment, status: 'missing' };
    const problem = await checkSegmentIndex(file);
    return problem === undefined
      ? { job, segment, status: 'ok' }
      : { job, segment, status: 'bad', detail: problem };
  });
}

/**
 * Rebuilds the index of every segment from its data: sealed segments (those with a successor, or
 * sealed before) get their blocks and seal; the newest segment of a stream whose writer is gone gets
 * its blocks. A segment a live writer holds is left to that writer.
 */
export async function rebuildIndexes(dir: string, jobs: string[] = []): Promise<IndexReport[]> {
  const reports = await forEachSegment(
    dir,
    jobs,
    async (job, file, { newest, stream, jobDir }) => {
      const segment = path.basename(file);
      if (newest && (await isLockHeld(path.join(jobDir, lockFileName(stream)))))
        return { job, segment, status: 'live' };
      if (isCompressed(file)) {
        // The blocks of a `.gz` are its gzip members: they are rebuilt by compressing it again.
        const seal = await recompress(file);
        return { job, segment, status: 'rebuilt', detail: `recompressed: ${seal.count} events` };
      }
      const size = (await fs.stat(file)).size;
      const existing = await readSegmentIndex(file, size);
      const wasSealed = 'index' in existing && existing.index.seal !== undefined;
      if (!newest || wasSealed) {
        const seal = await sealSegment(file);
        return { job, segment, status: 'rebuilt', detail: `sealed: ${seal.count} events` };
      }
      const scan = await scanSegmentIndex(file, { seal: false });
      await writeSegmentIndex(file, { blocks: scan.blocks, seal: undefined });
      return { job, segment, status: 'rebuilt', detail: `${scan.blocks.length} blocks` };
    },
    true,
  );
  // Each job's summary (index.json) is derived too: dropped, it is made again by the next `events jobs`.
  for (const job of new Set(reports.map((r) => r.job))) {
    await fs.rm(path.join(dir, job, JOB_SUMMARY_FILE), { force: true });
  }
  return reports;
}

/**
 * Visits each segment as it is when its turn comes (compressed since it was listed: its `.gz`; pruned:
 * left out). `gated` runs each visit under the job's gate, for visits that write (issue 10: a segment
 * prune removes meanwhile is never brought back by rebuilding it).
 */
async function forEachSegment(
  dir: string,
  jobs: string[],
  visit: (
    job: string,
    file: string,
    where: { newest: boolean; stream: string; jobDir: string },
  ) => Promise<IndexReport>,
  gated = false,
): Promise<IndexReport[]> {
  const reports: IndexReport[] = [];
  for (const job of jobs.length > 0 ? jobs : await listJobIds(dir)) {
    try {
      const { jobDir, manifest } = await openJob(dir, job);
      const segments = await readableSegments(jobDir);
      for (const [i, segment] of segments.entries()) {
        const newest = segments[i + 1]?.stream !== segment.stream;
        const once = async () => {
          const current = await currentSegmentFile(path.join(jobDir, segment.file));
          // Pruned, or the job removed and begun again by a writer: not the segment that was listed.
          if (current === undefined || (await readManifest(jobDir))?.log_id !== manifest.log_id) return;
          return visit(job, current.file, { newest, stream: segment.stream, jobDir });
        };
        const report = gated ? await withJobGate(jobDir, once) : await once();
        if (report !== undefined) reports.push(report);
      }
    } catch (err) {
      if (!isGone(err) || jobs.length > 0) throw err;
    }
  }
  return reports;
}

/** Decompresses a `.gz` back to its plain file (atomically), then seals and compresses it again. */
async function recompress(gzFile: string): Promise<SealEntry> {
  const plain = gzFile.replace(/\.gz$/, '');
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  await writeFileAtomicFrom(plain, async (write) => {
    for await (const chunk of rangeChunks({ file: gzFile, from: 0 }, stats))
      await write(chunk.toString('utf8'));
  });
  if (stats.damaged !== undefined) {
    await fs.rm(plain, { force: true });
    throw new DataError(`cannot rebuild the index of ${gzFile}: ${stats.damaged.join('; ')}`);
  }
  const seal = await sealSegment(plain);
  await compressSegment(plain, { gateHeld: true });
  return seal;
}
