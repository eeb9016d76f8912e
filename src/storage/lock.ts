import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DataError, errnoCode, LockedError } from '../format/errors.js';
import { fsyncDir, openRegular, readRegularFile } from './fsutil.js';
import { takeoverGuardOf } from '../format/paths.js';

/** The content of a lock file: who holds it. */
export interface LockOwner {
  pid: number;
  host: string;
  started: string;
}

export interface HeldLock {
  readonly file: string;
  release(): Promise<void>;
}

/**
 * Takes an exclusive lock file (O_EXCL create). A lock whose owner is on this host and no longer
 * running is stale and taken over; a lock from another host is never presumed dead, since its pid
 * means nothing here.
 */
export async function acquireLock(file: string, what: string): Promise<HeldLock> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await tryCreate(file)) return heldLock(file);
    const owner = await readLockOwner(file);
    if (owner === undefined && (await isFresh(file))) {
      // Probably being written by its creator right now: give it a moment rather than steal it.
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (owner !== undefined && isOwnerAlive(owner)) {
      throw new LockedError(`${what} is locked by pid ${owner.pid} on ${owner.host} since ${owner.started}`, {
        hint: `if that process is gone for good, remove ${file}`,
      });
    }
    await takeOverStale(file);
  }
  throw new LockedError(`could not take ${file}: other processes keep racing for it`);
}

/**
 * Like acquireLock, but while a live process holds the lock, waits for it (polling) up to `timeoutMs`,
 * then throws the LockedError. For short critical sections such as the job's gate.
 */
export async function acquireLockWaiting(file: string, what: string, timeoutMs: number): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await acquireLock(file, what);
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Who holds a lock file, or undefined when it is missing or half-written (a process that died between
 * create and write: treated as stale). Something other than a regular file there is damage (DataError).
 */
export async function readLockOwner(file: string): Promise<LockOwner | undefined> {
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (err) {
    if (err instanceof DataError) throw err;
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, started: String(parsed.started ?? '') };
  } catch {
    return undefined;
  }
}

/** Whether a live process holds the lock file (a stream's writer, a prune). */
export async function isLockHeld(file: string): Promise<boolean> {
  const owner = await readLockOwner(file);
  return owner !== undefined && isOwnerAlive(owner);
}

/** True when the owner may still be running: on this host, `kill(pid, 0)` tells; elsewhere, assume so. */
export function isOwnerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

async function isFresh(file: string): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs < 2000;
  } catch {
    return false;
  }
}

async function tryCreate(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await openRegular(file, 'wx');
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
    await handle.writeFile(JSON.stringify(owner) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDir(path.dirname(file));
  return true;
}

/**
 * Removes a stale lock. Two processes may find the same stale lock at once; the removal happens under
 * a short-lived `<file>.takeover` guard and re-checks staleness, so neither removes a lock that the
 * other has just taken.
 */
async function takeOverStale(file: string): Promise<void> {
  const guard = takeoverGuardOf(file);
  if (!(await tryCreate(guard))) {
    const guardOwner = await readLockOwner(guard);
    if (guardOwner === undefined || !isOwnerAlive(guardOwner)) await fs.rm(guard, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 5));
    return;
  }
  try {
    const owner = await readLockOwner(file);
    if (owner === undefined || !isOwnerAlive(owner)) await fs.rm(file, { force: true });
  } finally {
    await fs.rm(guard, { force: true });
  }
}

function heldLock(file: string): HeldLock {
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      await fs.rm(file, { force: true });
    },
  };
}
