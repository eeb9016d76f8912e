import path from 'node:path';
import type { PrunePolicy } from './prune-policy.js';
import type { JobInfo, PruneItem, SegmentInfo } from './prune-plan.js';

/**
 * What the rules have chosen so far: whole jobs, and segments (each one the oldest left in its
 * stream, since the kept log is a suffix: format.md section 10). A segment of a job that goes whole
 * is not counted twice.
 */
export class PruneSelection {
  readonly wholeJobs = new Map<string, PruneItem>();
  readonly segments = new Map<string, PruneItem>();

  constructor(private readonly policy: PrunePolicy) {}

  /** A job a live writer holds never goes whole; one that never ended only with includeRunning. */
  mayGoWhole(j: JobInfo): boolean {
    return !j.live && (j.finished || this.policy.includeRunning === true);
  }

  removeJob(j: JobInfo, reason: string): void {
    if (this.wholeJobs.has(j.job)) return;
    this.wholeJobs.set(j.job, {
      job: j.job,
      kind: 'job',
      events: j.events,
      bytes: j.bytes,
      lastTs: j.lastTs,
      reason,
      lastHash: j.lastHash,
    });
  }

  removeSegment(s: SegmentInfo, reason: string): void {
    if (this.segments.has(s.file) || this.wholeJobs.has(s.job)) return;
    this.segments.set(s.file, {
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
  }

  /** The next segment each stream may lose: only ever the oldest one left (the kept log is a suffix). */
  nextOf(j: JobInfo): (SegmentInfo | undefined)[] {
    return j.removable.map((stream) => stream.find((s) => !this.segments.has(s.file)));
  }

  /** The segments chosen of jobs that do not go whole. */
  ownSegments(): PruneItem[] {
    return [...this.segments.values()].filter((s) => !this.wholeJobs.has(s.job));
  }

  /** The bytes chosen so far. */
  removedBytes(): number {
    return [...this.wholeJobs.values(), ...this.ownSegments()].reduce((n, i) => n + i.bytes, 0);
  }
}

/** `older-than`: whole jobs whose last event is older than the cutoff, else their older segments. */
export function applyOlderThan(sel: PruneSelection, candidates: JobInfo[], olderThanMs: number, now: number) {
  const cutoffUs = (now - olderThanMs) * 1000;
  const reason = `older-than ${formatDuration(olderThanMs)}`;
  for (const j of candidates) {
    if (j.lastTsUs < cutoffUs && sel.mayGoWhole(j)) sel.removeJob(j, reason);
    else
      for (const stream of j.removable)
        for (const s of stream) if (s.lastTsUs < cutoffUs) sel.removeSegment(s, reason);
  }
}

/** `max-events`: per job, the oldest next segment of any stream until the job keeps few enough. */
export function applyMaxEvents(sel: PruneSelection, candidates: JobInfo[], maxEvents: number) {
  for (const j of candidates) {
    let events =
      j.events - [...sel.segments.values()].filter((s) => s.job === j.job).reduce((n, s) => n + s.events, 0);
    while (events > maxEvents && !sel.wholeJobs.has(j.job)) {
      const oldest = sel
        .nextOf(j)
        .filter((s): s is SegmentInfo => s !== undefined)
        .sort((a, b) => a.lastTsUs - b.lastTsUs)[0];
      if (oldest === undefined) break;
      sel.removeSegment(oldest, `max-events ${maxEvents}`);
      events -= oldest.seal.count;
    }
  }
}

/** `max-size`: the oldest of all that may go (whole jobs, next segments) until the rest fits. */
export function applyMaxBytes(sel: PruneSelection, jobs: JobInfo[], candidates: JobInfo[], maxBytes: number) {
  const total = jobs.reduce((n, j) => n + j.bytes, 0);
  while (total - sel.removedBytes() > maxBytes) {
    // The oldest of: a whole job that may go, or the next segment of any stream.
    type Option = { lastTsUs: number; take: () => void };
    const options: Option[] = [];
    for (const j of candidates) {
      if (sel.wholeJobs.has(j.job)) continue;
      if (sel.mayGoWhole(j)) options.push({ lastTsUs: j.lastTsUs, take: () => sel.removeJob(j, 'max-size') });
      for (const s of sel.nextOf(j))
        if (s !== undefined)
          options.push({ lastTsUs: s.lastTsUs, take: () => sel.removeSegment(s, 'max-size') });
    }
    const oldest = options.sort((a, b) => a.lastTsUs - b.lastTsUs)[0];
    if (oldest === undefined) break;
    oldest.take();
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
