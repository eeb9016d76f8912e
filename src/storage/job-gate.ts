import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, LockedError, NotFoundError } from '../format/errors.js';
import { acquireLock, acquireLockWaiting, isLockHeld, type HeldLock } from './lock.js';
import { readManifest } from './manifest.js';
import { isStreamLockFileName, JOB_GATE_FILE, lockFileName } from '../format/paths.js';

/**
 * How long a writer's open, a compression or a prune waits for another holder of a job's gate. The gate
 * is held for short steps only (claiming a stream, renaming one segment, moving one job aside).
 */
export const GATE_WAIT_MS = 60_000;

/**
 * Takes the job's gate (format.md section 6): decisions about which files a job has (a writer claiming
 * a stream, a segment replaced by its `.gz`, prune removing segments or the whole job) are taken and
 * carried out under it, so none of them acts on a state another has changed meanwhile (issue 10).
 */
export function acquireJobGate(jobDir: string): Promise<HeldLock> {
  return acquireLockWaiting(path.join(jobDir, JOB_GATE_FILE), `the job directory ${jobDir}`, GATE_WAIT_MS);
}

/** Runs `fn` holding the job's gate. */
export async function withJobGate<T>(jobDir: string, fn: () => Promise<T>): Promise<T> {
  const gate = await acquireJobGate(jobDir);
  try {
    return await fn();
  } finally {
    await gate.release();
  }
}

/**
 * Takes the lock of a stream of a job that exists, under the job's gate, for maintenance (rotate):
 * undefined when a live process holds the stream, NotFoundError when the job is gone or is no longer
 * the log `logId` (prune removed it and a writer began a new one).
 */
export async function lockStreamOf(
  jobDir: string,
  stream: string,
  logId: string,
  what: string,
): Promise<HeldLock | undefined> {
  let gate: HeldLock;
  try {
    gate = await acquireJobGate(jobDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new NotFoundError(`${jobDir} is gone`);
    throw err;
  }
  try {
    if ((await readManifest(jobDir))?.log_id !== logId) throw new NotFoundError(`${jobDir} was replaced`);
    return await acquireLock(path.join(jobDir, lockFileName(stream)), what);
  } catch (err) {
    if (err instanceof LockedError) return undefined;
    throw err;
  } finally {
    await gate.release();
  }
}

/** Whether an error says a job (or one of its files) was removed meanwhile: prune got there first. */
export function isGone(err: unknown): boolean {
  return err instanceof NotFoundError || errnoCode(err) === 'ENOENT';
}

/** Whether a live process holds any stream of the job (every stream lock file, not only known streams). */
export async function hasLiveWriter(jobDir: string): Promise<boolean> {
  for (const name of await fs.readdir(jobDir)) {
    if (!isStreamLockFileName(name)) continue;
    if (await isLockHeld(path.join(jobDir, name))) return true;
  }
  return false;
}
