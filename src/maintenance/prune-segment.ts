import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import { parseSegmentFileName, PRUNING_PREFIX, type SegmentName } from '../format/paths.js';
import { crashPoint } from '../storage/fault.js';
import { fsyncDir, writeFileAtomic } from '../storage/fsutil.js';
import { readManifest, writeManifest, type Manifest } from '../storage/manifest.js';
import { indexFileOf } from '../storage/segment-index.js';
import { currentSegmentFile } from '../storage/segments.js';
import { recordNewestSegment } from '../storage/stream-records.js';
import { archiveDirFor, archiveManifest, moveIntoArchive } from './archive.js';
import type { AuditTrail } from './audit-trail.js';
import type { PruneItem } from './prune-plan.js';
import { takeGate, type PruneIntent } from './prune-intent.js';

/**
 * The oldest sealed segment of a stream, under the job's gate: its intent recorded beside it
 * (`.pruning-<segment>.json`), so that a prune killed at any step is finished by the next one.
 */
export async function removeSegment(
  dir: string,
  item: PruneItem,
  audit: AuditTrail,
): Promise<string | undefined> {
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
export async function carryOutSegment(
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
  await removeSegmentFiles(jobDir, item, archived);
  // Once it has landed (also when a killed prune had moved it already), the archive records it.
  if (archived !== undefined) {
    const { baseSeq } = parseSegmentFileName(item.segment as string) as SegmentName;
    await recordNewestSegment(archived, stream, baseSeq);
  }
  await fsyncDir(jobDir);
  await audit.record(item, archive, policy);
  await fs.rm(intentFile, { force: true });
}

/** Deletes the segment's files, or moves them into `archived`; a file already gone is skipped. */
async function removeSegmentFiles(jobDir: string, item: PruneItem, archived: string | undefined) {
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
}
