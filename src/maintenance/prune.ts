import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import { crashPoint } from '../storage/fault.js';
import {
  fsyncDir,
  mkdirDurable,
  openRegular,
  pathExists,
  readRegularFile,
  writeFileAtomic,
} from '../storage/fsutil.js';
import { acquireJobGate } from '../storage/job-gate.js';
import { acquireLock, isLockHeld, type HeldLock } from '../storage/lock.js';
import { readManifest, writeManifest, type Manifest } from '../storage/manifest.js';
import {
  GLOBAL_DIR,
  JOB_GATE_FILE,
  MANIFEST_FILE,
  PRUNE_INTENT_FILE,
  PRUNE_LOCK_FILE,
  PRUNING_PREFIX,
  QUARANTINE_DIR,
  tempFileOwner,
  JOB_SUMMARY_FILE,
  parseSegmentFileName,
  type SegmentName,
} from '../format/paths.js';
import { currentSegmentFile } from '../storage/segments.js';
import { recordNewestSegment } from '../storage/stream-records.js';
import { indexFileOf } from '../storage/segment-index.js';
import { archiveDirFor, archiveManifest, assertArchiveOutside, moveIntoArchive } from './archive.js';
import type { PrunePolicy } from './prune-policy.js';
import { describeJobs, jobFingerprint, planPrune, type JobInfo, type PruneItem } from './prune-plan.js';

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

/** What a prune moving a whole job aside records beside it, so a later prune can finish it. */
interface PruneIntent {
  item: PruneItem;
  archive?: string;
  policy: Record<string, unknown>;
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

/**
 * A whole job: under its gate, checked to be as planned (no live writer, the same segments), then
 * renamed aside in one step, and only then deleted or archived. Returns why it was left, if it was.
 */
async function removeJob(
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
async function finishAside(aside: string, audit: AuditTrail): Promise<PruneItem> {
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
 * Finishes what a killed prune began (issue 10: a rerun finishes it): jobs it had moved aside, and
 * segments whose intent it had recorded.
 */
async function finishInterrupted(dir: string, audit: AuditTrail): Promise<PruneItem[]> {
  const finished: PruneItem[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const entryPath = path.join(dir, entry.name);
    if (entry.name.startsWith(PRUNING_PREFIX)) {
      try {
        finished.push(await finishAside(entryPath, audit));
      } catch (err) {
        // Killed before its intent was written: the rename had not happened yet, so it is not ours.
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      continue;
    }
    const intents = (await fs.readdir(entryPath)).filter(
      (name) => name.startsWith(PRUNING_PREFIX) && name.endsWith('.json'),
    );
    if (intents.length === 0) continue;
    const gate = await takeGate(entryPath);
    if (gate === undefined) continue;
    try {
      for (const name of intents) {
        const intentFile = path.join(entryPath, name);
        const intent = JSON.parse(await readRegularFile(intentFile)) as PruneIntent;
        await carryOutSegment(entryPath, intentFile, intent, audit);
        finished.push(intent.item);
      }
    } finally {
      await gate.release();
    }
  }
  return finished;
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
    !name.endsWith('.lock') &&
    !name.endsWith('.takeover') &&
    tempFileOwner(name) === undefined &&
    name !== JOB_SUMMARY_FILE
  );
}

/**
 * The oldest sealed segment of a stream, under the job's gate: its intent recorded beside it
 * (`.pruning-<segment>.json`), so that a prune killed at any step is finished by the next one.
 */
async function removeSegment(dir: string, item: PruneItem, audit: AuditTrail): Promise<string | undefined> {
  const jobDir = path.join(dir, item.job);
  const gate = await takeGate(jobDir);
  if (gate === undefined) return 'the job is gone';
  try {
    if ((await currentSegmentFile(path.join(jobDir, item.segment as string))) === undefined)
      return 'the segment is gone';
    const intent: PruneIntent = { item, archive: audit.archive, policy: audit.policyText };
    const intentFile = path.join(jobDir, `${PRUNING_PREFIX}${item.segment as string}.json`);
    await writeFileAtomic(intentFile, JSON.stringify(intent) + '\n');
    await carryOutSegment(jobDir, intentFile, intent, audit);
    return undefined;
  } finally {
    await gate.release();
  }
}

/**
 * Removes (or archives) a segment as its intent says, holding the job's gate; every step may have been
 * done already by a killed prune. LOG.json first (a crash before the files go leaves old data that is
 * still there, never a gap), then its files, then the audit line, then the intent.
 */
async function carryOutSegment(
  jobDir: string,
  intentFile: string,
  { item, archive, policy }: PruneIntent,
  audit: AuditTrail,
): Promise<void> {
  const manifest = await readManifest(jobDir);
  const stream = item.stream as string;
  const lastSeq = (item.seq as [number, number])[1];
  const archived =
    archive === undefined || manifest === undefined ? undefined : await archiveDirFor(archive, manifest);
  if (archived !== undefined) await archiveManifest(archived, manifest as Manifest, false);
  if (manifest !== undefined && (manifest.start[stream]?.seq ?? 1) <= lastSeq) {
    const kept: Manifest = { ...manifest, start: { ...manifest.start } };
    kept.start[stream] = { seq: lastSeq + 1, prev: item.lastHash[stream] as string };
    await writeManifest(jobDir, kept);
    crashPoint('prune:started');
  }
  const plain = path.join(jobDir, (item.segment as string).replace(/\.gz$/, ''));
  // A plain segment whose compression was interrupted may have its `.gz` twin: both go.
  for (const file of [plain, `${plain}.gz`, indexFileOf(plain)]) {
    try {
      if (archived !== undefined) await moveIntoArchive(file, path.join(archived, path.basename(file)));
      else await fs.rm(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  // Once it has landed (also when a killed prune had moved it already), the archive records it.
  if (archived !== undefined) {
    const { baseSeq } = parseSegmentFileName(item.segment as string) as SegmentName;
    await recordNewestSegment(archived, stream, baseSeq);
  }
  await fsyncDir(jobDir);
  await audit.record(item, archive, policy);
  await fs.rm(intentFile, { force: true });
}

/** The job's gate, or undefined when the job directory is gone. */
async function takeGate(jobDir: string): Promise<HeldLock | undefined> {
  try {
    return await acquireJobGate(jobDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether a live process holds any stream of the job (every lock file, not only known streams). */
async function hasLiveWriter(jobDir: string): Promise<boolean> {
  for (const name of await fs.readdir(jobDir)) {
    if (name === JOB_GATE_FILE || !name.endsWith('.lock')) continue;
    if (await isLockHeld(path.join(jobDir, name))) return true;
  }
  return false;
}

/** `global/audit-<date>.jsonl`: one line per removal, appended and synced (format.md section 10). */
class AuditTrail {
  readonly archive: string | undefined;
  readonly policyText: Record<string, unknown>;
  constructor(
    private readonly dir: string,
    policy: PrunePolicy,
  ) {
    this.archive = policy.archive;
    this.policyText = Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined));
  }

  async record(item: PruneItem, archive: string | undefined, policy: Record<string, unknown>): Promise<void> {
    const file = path.join(this.dir, GLOBAL_DIR, `audit-${new Date().toISOString().slice(0, 10)}.jsonl`);
    const line = {
      ts: new Date().toISOString(),
      action: archive === undefined ? 'deleted' : 'archived',
      ...(archive === undefined ? {} : { archive }),
      job: item.job,
      what: item.kind === 'job' ? 'job' : `${item.segment} (seq ${item.seq?.join('-')})`,
      reason: item.reason,
      policy,
      events: item.events,
      bytes: item.bytes,
      last_hash: item.lastHash,
    };
    await mkdirDurable(path.dirname(file));
    const handle = await openRegular(file, 'a');
    try {
      await handle.write(JSON.stringify(line) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

function sum(items: PruneItem[]): number {
  return items.reduce((n, i) => n + i.bytes, 0);
}
