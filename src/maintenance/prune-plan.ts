import fs from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { parseMicros } from '../format/clock.js';
import { errnoCode, NotFoundError } from '../format/errors.js';
import { isCompressed, readRangeRecords, type ReadStats } from '../storage/line-reader.js';
import { isLockHeld } from '../storage/lock.js';
import { readManifest } from '../storage/manifest.js';
import { lockFileName } from '../format/paths.js';
import { listSegments, readableSegments, readCurrentSegment } from '../storage/segments.js';
import { indexFileOf, readSegmentIndex, scanSegmentIndex, type SealEntry } from '../storage/segment-index.js';
import { listJobIds, openJob } from '../storage/jobs-dir.js';
import { readEvents } from '../read/reader.js';
import type { PrunePolicy } from './prune-policy.js';

/** One thing prune removes: a whole job, or a sealed segment (always the oldest left in its stream). */
export interface PruneItem {
  job: string;
  kind: 'job' | 'segment';
  /** The segment file, for a segment. */
  segment?: string;
  stream?: string;
  seq?: [number, number];
  events: number;
  bytes: number;
  /** The time of its last event. */
  lastTs: string;
  /** Which rule removes it: `older-than 30d`, `max-size`, `max-events`. */
  reason: string;
  /** The hash of the last line removed, per stream: what the kept log continues from. */
  lastHash: Record<string, string>;
}

export interface SegmentInfo {
  job: string;
  stream: string;
  file: string;
  bytes: number;
  seal: SegmentSummary;
  lastTsUs: number;
}

export interface JobInfo {
  job: string;
  jobDir: string;
  bytes: number;
  events: number;
  lastTsUs: number;
  lastTs: string;
  /** Its last lifecycle event is job_completed or job_failed. */
  finished: boolean;
  /** A live process holds one of its streams. */
  live: boolean;
  /** Sealed segments that are not the newest of their stream, per stream in log order. */
  removable: SegmentInfo[][];
  lastHash: Record<string, string>;
  /** Its segments and their sizes when planned: prune acts only if they are still so (issue 10). */
  fingerprint: string;
}

/** What the policy removes, oldest first: whole jobs, and the oldest sealed segments of streams. */
export function planPrune(jobs: JobInfo[], policy: PrunePolicy, now: number): PruneItem[] {
  const protectedJobs = new Set(
    [...jobs]
      .sort((a, b) => b.lastTsUs - a.lastTsUs)
      .slice(0, policy.keepJobs ?? 0)
      .map((j) => j.job),
  );
  const candidates = jobs.filter((j) => !protectedJobs.has(j.job));
  const wholeJobs = new Map<string, PruneItem>();
  const segments = new Map<string, PruneItem>();
  // A job a live writer holds never goes whole; one that never ended only with includeRunning.
  const mayGoWhole = (j: JobInfo) => !j.live && (j.finished || policy.includeRunning === true);
  const removeJob = (j: JobInfo, reason: string) => {
    if (wholeJobs.has(j.job)) return;
    wholeJobs.set(j.job, {
      job: j.job,
      kind: 'job',
      events: j.events,
      bytes: j.bytes,
      lastTs: j.lastTs,
      reason,
      lastHash: j.lastHash,
    });
  };
  const removeSegment = (s: SegmentInfo, reason: string) => {
    if (segments.has(s.file) || wholeJobs.has(s.job)) return;
    segments.set(s.file, {
      job: s.job,
      kind: 'segment',
      segment: path.basename(s.file),
      stream: s.stream,
      seq: s.seal.seq,
      events: s.seal.count,
      bytes: s.bytes,
      lastTs: s.seal.ts[1],
      reason,
      lastHash: { [s.stream]: s.seal.lastHash },
    });
  };
  // The next segment each stream may lose: only ever the oldest one left (the kept log is a suffix).
  const nextOf = (j: JobInfo) => j.removable.map((stream) => stream.find((s) => !segments.has(s.file)));

  if (policy.olderThanMs !== undefined) {
    const cutoffUs = (now - policy.olderThanMs) * 1000;
    const reason = `older-than ${formatDuration(policy.olderThanMs)}`;
    for (const j of candidates) {
      if (j.lastTsUs < cutoffUs && mayGoWhole(j)) removeJob(j, reason);
      else
        for (const stream of j.removable)
          for (const s of stream) if (s.lastTsUs < cutoffUs) removeSegment(s, reason);
    }
  }
  if (policy.maxEvents !== undefined) {
    for (const j of candidates) {
      let events =
        j.events - [...segments.values()].filter((s) => s.job === j.job).reduce((n, s) => n + s.events, 0);
      while (events > policy.maxEvents && !wholeJobs.has(j.job)) {
        const oldest = nextOf(j)
          .filter((s): s is SegmentInfo => s !== undefined)
          .sort((a, b) => a.lastTsUs - b.lastTsUs)[0];
        if (oldest === undefined) break;
        removeSegment(oldest, `max-events ${policy.maxEvents}`);
        events -= oldest.seal.count;
      }
    }
  }
  if (policy.maxBytes !== undefined) {
    const removed = () =>
      [...wholeJobs.values()].reduce((n, i) => n + i.bytes, 0) +
      [...segments.values()].filter((s) => !wholeJobs.has(s.job)).reduce((n, s) => n + s.bytes, 0);
    const total = jobs.reduce((n, j) => n + j.bytes, 0);
    while (total - removed() > policy.maxBytes) {
      // The oldest of: a whole job that may go, or the next segment of any stream.
      type Option = { lastTsUs: number; take: () => void };
      const options: Option[] = [];
      for (const j of candidates) {
        if (wholeJobs.has(j.job)) continue;
        if (mayGoWhole(j)) options.push({ lastTsUs: j.lastTsUs, take: () => removeJob(j, 'max-size') });
        for (const s of nextOf(j))
          if (s !== undefined)
            options.push({ lastTsUs: s.lastTsUs, take: () => removeSegment(s, 'max-size') });
      }
      const oldest = options.sort((a, b) => a.lastTsUs - b.lastTsUs)[0];
      if (oldest === undefined) break;
      oldest.take();
    }
  }
  const items = [...wholeJobs.values(), ...[...segments.values()].filter((s) => !wholeJobs.has(s.job))];
  return items.sort((a, b) => a.lastTs.localeCompare(b.lastTs) || a.job.localeCompare(b.job));
}

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
      const own = segments.filter((s) => s.stream === stream);
      info.live ||= await isLockHeld(path.join(jobDir, lockFileName(stream)));
      const removable: SegmentInfo[] = [];
      for (const [i, segment] of own.entries()) {
        // A writer or rotate may compress a segment while it is read: then it is read as `.gz`.
        const read = await readCurrentSegment(path.join(jobDir, segment.file), async (current) => ({
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
        if (i < own.length - 1 && seal.count > 0 && seal.sealed) {
          const segBytes = (await sizeOnDisk(file)) + (await sizeOnDisk(indexFileOf(file)));
          removable.push({ job, stream, file, bytes: segBytes, seal, lastTsUs: parseMicros(seal.ts[1]) });
        }
      }
      info.removable.push(removable);
    }
    info.lastTsUs = info.lastTs === '' ? 0 : parseMicros(info.lastTs);
    info.finished = await hasEnded(dir, job);
    jobs.push(info);
  }
  return jobs;
}

/** Whether the job's last lifecycle event says it ended (the index lets this skip most blocks). */
async function hasEnded(dir: string, job: string): Promise<boolean> {
  let ended = false;
  for await (const { record } of readEvents({ dir, jobs: [job], kinds: ['job_*'] })) {
    ended = record.event_type === 'job_completed' || record.event_type === 'job_failed';
  }
  return ended;
}

/** What prune needs to know of a segment: from its seal, or for the active one, as a seal would say. */
interface SegmentSummary {
  /** Read from a seal in its index, not worked out. */
  sealed: boolean;
  count: number;
  seq: [number, number];
  ts: [string, string];
  lastHash: string;
}

/**
 * From the seal where the index has one; for the active segment from its index blocks plus its last
 * block and unindexed tail, which are read; else by reading the whole segment.
 */
async function summarize(file: string, size: number): Promise<SegmentSummary> {
  const read = await readSegmentIndex(file, size);
  const fromSeal = (seal: SealEntry, sealed = true): SegmentSummary => ({
    sealed,
    count: seal.count,
    seq: seal.seq,
    ts: seal.ts,
    lastHash: seal.last_hash,
  });
  if ('index' in read && read.index.seal !== undefined) return fromSeal(read.index.seal);
  const blocks = 'index' in read && !isCompressed(file) ? read.index.blocks : [];
  const first = blocks[0];
  const lastBlock = blocks.at(-1);
  if (first === undefined || lastBlock === undefined) {
    return fromSeal((await scanSegmentIndex(file, { seal: true })).seal as SealEntry, false);
  }
  const manifest = await readManifest(path.dirname(file));
  const tail = await lastRecordsFrom(file, lastBlock.off[0], chainOf(manifest ?? { job_id: '?' }));
  return {
    sealed: false,
    count: blocks.slice(0, -1).reduce((n, b) => n + b.lines[1], 0) + tail.count,
    seq: [first.seq[0], tail.lastSeq ?? lastBlock.seq[1]],
    ts: [first.ts[0], tail.lastTs ?? lastBlock.ts[1]],
    lastHash: tail.lastHash ?? '',
  };
}

async function lastRecordsFrom(file: string, from: number, chain: Chain) {
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  let count = 0;
  let last: { seq: number; ts: string; line: string } | undefined;
  for await (const { record, line } of readRangeRecords({ file, from }, stats)) {
    count++;
    last = { seq: record.seq, ts: record.ts, line };
  }
  return {
    count,
    lastSeq: last?.seq,
    lastTs: last?.ts,
    lastHash: last === undefined ? undefined : chain.hash(last.line),
  };
}

export async function sizeOnDisk(file: string): Promise<number> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() ? stat.size : 0;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

export function formatDuration(ms: number): string {
  // In the units durations are written in (systemd's: a month is 30.44 days, a year 365.25).
  for (const [unit, size] of [
    ['y', 31_557_600e3],
    ['M', 2_629_800e3],
    ['w', 604_800e3],
    ['d', 86_400e3],
    ['h', 3600e3],
    ['min', 60e3],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

/** The job's segments and their sizes: what a writer that reopened the job would change. */
export async function jobFingerprint(jobDir: string): Promise<string> {
  const parts: string[] = [];
  for (const segment of await listSegments(jobDir)) {
    parts.push(`${segment.file}:${await sizeOnDisk(path.join(jobDir, segment.file))}`);
  }
  return parts.join(',');
}
