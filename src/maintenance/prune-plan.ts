import { applyMaxBytes, applyMaxEvents, applyOlderThan, PruneSelection } from './prune-rules.js';
import type { PrunePolicy } from './prune-policy.js';
import type { SegmentSummary } from './segment-summary.js';

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

/**
 * What the policy removes, oldest first: whole jobs, and the oldest sealed segments of streams. The
 * rules apply in turn (format.md section 10), each on top of what the ones before it chose.
 */
export function planPrune(jobs: JobInfo[], policy: PrunePolicy, now: number): PruneItem[] {
  const protectedJobs = new Set(
    [...jobs]
      .sort((a, b) => b.lastTsUs - a.lastTsUs)
      .slice(0, policy.keepJobs ?? 0)
      .map((j) => j.job),
  );
  const candidates = jobs.filter((j) => !protectedJobs.has(j.job));
  const sel = new PruneSelection(policy);
  if (policy.olderThanMs !== undefined) applyOlderThan(sel, candidates, policy.olderThanMs, now);
  if (policy.maxEvents !== undefined) applyMaxEvents(sel, candidates, policy.maxEvents);
  if (policy.maxBytes !== undefined) applyMaxBytes(sel, jobs, candidates, policy.maxBytes);
  const items = [...sel.wholeJobs.values(), ...sel.ownSegments()];
  return items.sort((a, b) => a.lastTs.localeCompare(b.lastTs) || a.job.localeCompare(b.job));
}
