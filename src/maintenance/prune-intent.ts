import { errnoCode } from '../format/errors.js';
import { acquireJobGate } from '../storage/job-gate.js';
import type { HeldLock } from '../storage/lock.js';
import type { PruneItem } from './prune-plan.js';

/**
 * What a prune records before it removes something (a whole job moved aside, or a segment), so that
 * a later prune can finish it (issue 10: a rerun finishes what a killed prune began).
 */
export interface PruneIntent {
  item: PruneItem;
  archive?: string;
  policy: Record<string, unknown>;
}

/** The job's gate, or undefined when the job directory is gone. */
export async function takeGate(jobDir: string): Promise<HeldLock | undefined> {
  try {
    return await acquireJobGate(jobDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}
