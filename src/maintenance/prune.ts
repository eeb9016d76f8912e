import path from 'node:path';
import { GLOBAL_DIR, PRUNE_LOCK_FILE } from '../format/paths.js';
import { mkdirDurable } from '../storage/fsutil.js';
import { acquireLock, type HeldLock } from '../storage/lock.js';
import { assertArchiveOutside } from './archive.js';
import { AuditTrail } from './audit-trail.js';
import { removeJob } from './prune-job.js';
import type { PrunePolicy } from './prune-policy.js';
import { describeJobs } from './job-survey.js';
import { planPrune, type JobInfo, type PruneItem } from './prune-plan.js';
import { finishInterrupted } from './prune-resume.js';
import { removeSegment } from './prune-segment.js';

export type { PruneItem } from './prune-plan.js';

export interface PruneResult {
  /** What was removed (or, in a dry run, would be). */
  items: PruneItem[];
  bytesFreed: number;
  dryRun: boolean;
  /**
   * Planned but left alone, because under the job's gate it was no longer as planned: a writer holds
   * or has changed the job since (issue 10). The next run decides again.
   */
  skipped: { item: PruneItem; why: string }[];
  /** Removals a killed prune had begun, finished by this one. */
  finished: PruneItem[];
}

/**
 * `events prune`: works out what the policy removes, oldest first, and (unless `dryRun`) removes or
 * archives it under a lock, recording each removal in `global/audit-<date>.jsonl` and, for segments,
 * where each stream now starts in LOG.json (format.md section 10). Each removal is decided again and
 * carried out under the job's gate, which writers take to open a job: a job is either gone before a
 * writer opens it, or not removed.
 */
export async function prune(
  dir: string,
  policy: PrunePolicy,
  options: {
    dryRun?: boolean;
    now?: number;
    onProgress?: (done: number, total: number) => void;
    /** Called between planning and acting: a test seam for what happens meanwhile. */
    onPlanned?: (items: PruneItem[]) => Promise<void>;
  } = {},
): Promise<PruneResult> {
  const dryRun = options.dryRun === true;
  if (policy.archive !== undefined) await assertArchiveOutside(dir, policy.archive);
  const globalDir = path.join(dir, GLOBAL_DIR);
  let lock: HeldLock | undefined;
  if (!dryRun) {
    await mkdirDurable(globalDir);
    lock = await acquireLock(path.join(globalDir, PRUNE_LOCK_FILE), 'events prune');
  }
  try {
    const audit = new AuditTrail(dir, policy);
    const finished = dryRun ? [] : await finishInterrupted(dir, audit);
    const jobs = await describeJobs(dir, policy.jobs ?? []);
    const items = planPrune(jobs, policy, options.now ?? Date.now());
    if (dryRun) return { items, bytesFreed: sum(items), dryRun, skipped: [], finished };
    await options.onPlanned?.(items);
    const byJob = new Map(jobs.map((j) => [j.job, j]));
    const done: PruneItem[] = [];
    const skipped: PruneResult['skipped'] = [];
    for (const [n, item] of items.entries()) {
      const why =
        item.kind === 'job'
          ? await removeJob(dir, item, byJob.get(item.job) as JobInfo, audit)
          : await removeSegment(dir, item, audit);
      if (why === undefined) done.push(item);
      else skipped.push({ item, why });
      options.onProgress?.(n + 1, items.length);
    }
    return { items: done, bytesFreed: sum(done), dryRun, skipped, finished };
  } finally {
    await lock?.release();
  }
}

function sum(items: PruneItem[]): number {
  return items.reduce((n, i) => n + i.bytes, 0);
}
