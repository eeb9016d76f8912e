import fs from 'node:fs/promises';
import path from 'node:path';
import { parseMicros } from '../format/clock.js';
import { NotFoundError } from '../format/errors.js';
import { lockFileName } from '../format/paths.js';
import { listJobIds, openJob } from '../storage/jobs-dir.js';
import { isLockHeld } from '../storage/lock.js';
import { indexFileOf } from '../storage/segment-index.js';
import { readableSegments, readCurrentSegment } from '../storage/segments.js';
import { readEvents } from '../read/reader.js';
import { jobFingerprint, sizeOnDisk } from './disk-usage.js';
import type { JobInfo, SegmentInfo } from './prune-plan.js';
import { summarize } from './segment-summary.js';

/** What prune needs to know of each job (all, or `only` those). A job gone meanwhile is left out. */
export async function describeJobs(dir: string, only: string[]): Promise<JobInfo[]> {
  const jobs: JobInfo[] = [];
  for (const job of only.length > 0 ? only : await listJobIds(dir)) {
    let jobDir: string;
    try {
      ({ jobDir } = await openJob(dir, job));
    } catch (err) {
      if (err instanceof NotFoundError && only.length === 0) continue; // removed since it was listed
      throw err;
    }
    jobs.push(await describeJob(dir, job, jobDir));
  }
  return jobs;
}

async function describeJob(dir: string, job: string, jobDir: string): Promise<JobInfo> {
  const segments = await readableSegments(jobDir);
  const fingerprint = await jobFingerprint(jobDir);
  const streams = [...new Set(segments.map((s) => s.stream))];
  let bytes = 0;
  for (const name of await fs.readdir(jobDir)) bytes += await sizeOnDisk(path.join(jobDir, name));
  const info: JobInfo = {
    job,
    jobDir,
    bytes,
    events: 0,
    lastTsUs: 0,
    lastTs: '',
    finished: false,
    live: false,
    removable: [],
    lastHash: {},
    fingerprint,
  };
  for (const stream of streams) {
    const own = segments.filter((s) => s.stream === stream).map((s) => s.file);
    info.live ||= await isLockHeld(path.join(jobDir, lockFileName(stream)));
    info.removable.push(await describeStream(info, stream, own));
  }
  info.lastTsUs = info.lastTs === '' ? 0 : parseMicros(info.lastTs);
  info.finished = await hasEnded(dir, job);
  return info;
}

/** Adds a stream's segments to the job's counts; returns those prune may remove on their own. */
async function describeStream(info: JobInfo, stream: string, files: string[]): Promise<SegmentInfo[]> {
  const removable: SegmentInfo[] = [];
  for (const [i, name] of files.entries()) {
    // A writer or rotate may compress a segment while it is read: then it is read as `.gz`.
    const read = await readCurrentSegment(path.join(info.jobDir, name), async (current) => ({
      file: current.file,
      seal: await summarize(current.file, current.size),
    }));
    if (read === undefined) continue;
    const { file, seal } = read;
    info.events += seal.count;
    if (seal.count > 0 && seal.ts[1] > info.lastTs) info.lastTs = seal.ts[1];
    if (seal.count > 0) info.lastHash[stream] = seal.lastHash;
    // The newest segment of a stream is where its writer appends: never removed on its own; nor
    // is one not sealed yet (its seal is what the archive and the kept log are checked against).
    if (i < files.length - 1 && seal.count > 0 && seal.sealed) {
      const bytes = (await sizeOnDisk(file)) + (await sizeOnDisk(indexFileOf(file)));
      removable.push({ job: info.job, stream, file, bytes, seal, lastTsUs: parseMicros(seal.ts[1]) });
    }
  }
  return removable;
}

/** Whether the job's last lifecycle event says it ended (the index lets this skip most blocks). */
async function hasEnded(dir: string, job: string): Promise<boolean> {
  let ended = false;
  for await (const { record } of readEvents({ dir, jobs: [job], kinds: ['job_*'] })) {
    ended = record.event_type === 'job_completed' || record.event_type === 'job_failed';
  }
  return ended;
}
