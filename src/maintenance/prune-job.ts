import fs from 'node:fs/promises';
import path from 'node:path';
import {
  JOB_GATE_FILE,
  JOB_SUMMARY_FILE,
  MANIFEST_FILE,
  PRUNE_INTENT_FILE,
  PRUNING_PREFIX,
  QUARANTINE_DIR,
  tempFileOwner,
  isLockFileName,
} from '../format/paths.js';
import { crashPoint } from '../storage/fault.js';
import { fsyncDir, mkdirDurable, pathExists, readRegularFile, writeFileAtomic } from '../storage/fsutil.js';
import { readManifest } from '../storage/manifest.js';
import { archiveDirFor, archiveManifest, moveIntoArchive } from './archive.js';
import type { AuditTrail } from './audit-trail.js';
import { jobFingerprint } from './disk-usage.js';
import type { JobInfo, PruneItem } from './prune-plan.js';
import { takeGate, type PruneIntent } from './prune-intent.js';
import { hasLiveWriter } from '../storage/job-gate.js';

/**
 * A whole job: under its gate, checked to be as planned (no live writer, the same segments), then
 * renamed aside in one step, and only then deleted or archived. Returns why it was left, if it was.
 */
export async function removeJob(
  dir: string,
  item: PruneItem,
  planned: JobInfo,
  audit: AuditTrail,
): Promise<string | undefined> {
  const jobDir = path.join(dir, item.job);
  const gate = await takeGate(jobDir);
  if (gate === undefined) return 'the job is gone';
  const aside = path.join(dir, `${PRUNING_PREFIX}${item.job}-${Date.now().toString(36)}`);
  try {
    if (await hasLiveWriter(jobDir)) return 'a writer holds it';
    if ((await jobFingerprint(jobDir)) !== planned.fingerprint) return 'it changed since it was planned';
    const intent: PruneIntent = { item, archive: audit.archive, policy: audit.policyText };
    await writeFileAtomic(path.join(jobDir, PRUNE_INTENT_FILE), JSON.stringify(intent) + '\n');
    await fs.rename(jobDir, aside);
  } finally {
    // Once renamed, the gate went with the directory (and goes with the rest): the path may already
    // hold a new log's gate, which is not ours to remove.
    if (!(await pathExists(aside))) await gate.release();
  }
  await fsyncDir(dir);
  crashPoint('prune:aside');
  await finishAside(aside, audit);
  return undefined;
}

/** Deletes or archives a job moved aside, then records it: also what a killed prune left. */
export async function finishAside(aside: string, audit: AuditTrail): Promise<PruneItem> {
  const intent = JSON.parse(await readRegularFile(path.join(aside, PRUNE_INTENT_FILE))) as PruneIntent;
  if (intent.archive !== undefined) {
    const manifest = await readManifest(aside);
    if (manifest !== undefined) {
      const target = await archiveDirFor(intent.archive, manifest);
      await archiveManifest(target, manifest, true);
      await moveTree(aside, target);
    }
  }
  await audit.record(intent.item, intent.archive, intent.policy);
  await fs.rm(aside, { recursive: true, force: true });
  await fsyncDir(path.dirname(aside));
  return intent.item;
}

/**
 * Moves every file of a job directory into its archived log, quarantined torn tails included; locks,
 * temporary files and derived summaries stay behind (they are removed with the directory).
 */
async function moveTree(from: string, to: string): Promise<void> {
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory() && entry.name === QUARANTINE_DIR) {
      await mkdirDurable(path.join(to, QUARANTINE_DIR));
      await moveTree(source, path.join(to, QUARANTINE_DIR));
    } else if (entry.isFile() && isArchived(entry.name)) {
      await moveIntoArchive(source, path.join(to, entry.name));
    }
  }
}

/** The files an archived log keeps: its data and indexes (LOG.json is placed first, on its own). */
function isArchived(name: string): boolean {
  return (
    name !== MANIFEST_FILE &&
    name !== PRUNE_INTENT_FILE &&
    !name.startsWith(PRUNING_PREFIX) &&
    name !== JOB_GATE_FILE &&
    !isLockFileName(name) &&
    tempFileOwner(name) === undefined &&
    name !== JOB_SUMMARY_FILE
  );
}
