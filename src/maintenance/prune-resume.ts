import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import { PRUNING_PREFIX } from '../format/paths.js';
import { readRegularFile } from '../storage/fsutil.js';
import type { AuditTrail } from './audit-trail.js';
import { finishAside } from './prune-job.js';
import type { PruneItem } from './prune-plan.js';
import { carryOutSegment } from './prune-segment.js';
import { takeGate, type PruneIntent } from './prune-intent.js';

/**
 * Finishes what a killed prune began (issue 10: a rerun finishes it): jobs it had moved aside, and
 * segments whose intent it had recorded.
 */
export async function finishInterrupted(dir: string, audit: AuditTrail): Promise<PruneItem[]> {
  const finished: PruneItem[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const entryPath = path.join(dir, entry.name);
    if (entry.name.startsWith(PRUNING_PREFIX)) {
      const item = await finishAsideIfOurs(entryPath, audit);
      if (item !== undefined) finished.push(item);
    } else {
      finished.push(...(await finishSegmentIntents(entryPath, audit)));
    }
  }
  return finished;
}

async function finishAsideIfOurs(aside: string, audit: AuditTrail): Promise<PruneItem | undefined> {
  try {
    return await finishAside(aside, audit);
  } catch (err) {
    // Killed before its intent was written: the rename had not happened yet, so it is not ours.
    if (errnoCode(err) !== 'ENOENT') throw err;
    return undefined;
  }
}

/** The segment removals recorded in a job directory (`.pruning-<segment>.json`), under its gate. */
async function finishSegmentIntents(jobDir: string, audit: AuditTrail): Promise<PruneItem[]> {
  const intents = (await fs.readdir(jobDir)).filter(
    (name) => name.startsWith(PRUNING_PREFIX) && name.endsWith('.json'),
  );
  if (intents.length === 0) return [];
  const gate = await takeGate(jobDir);
  if (gate === undefined) return [];
  const finished: PruneItem[] = [];
  try {
    for (const name of intents) {
      const intentFile = path.join(jobDir, name);
      const intent = JSON.parse(await readRegularFile(intentFile)) as PruneIntent;
      await carryOutSegment(jobDir, intentFile, intent, audit);
      finished.push(intent.item);
    }
  } finally {
    await gate.release();
  }
  return finished;
}
