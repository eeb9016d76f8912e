import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chainKeyFromEnv, chainOf, keyCheckOf, type Chain } from '../format/chain.js';
import { DataError, errnoCode, InvalidArgumentError, LockedError } from '../format/errors.js';
import { sanitizeIdPart } from '../format/ids.js';
import { isStreamLockFileName, lockFileName, streamOfLockFileName } from '../format/paths.js';
import { mkdirDurable } from '../storage/fsutil.js';
import { acquireJobGate } from '../storage/job-gate.js';
import { acquireLock, isOwnerAlive, readLockOwner, type HeldLock } from '../storage/lock.js';
import { ensureManifest, type Manifest } from '../storage/manifest.js';
import { assertStreamWhole } from '../storage/stream-records.js';

/** A stream of a job taken for this process: its lock held, its log's manifest and chain. */
export interface Claimed {
  manifest: Manifest;
  chain: Chain;
  stream: string;
  lock: HeldLock;
}

/**
 * Creates the job's LOG.json if needed and takes a stream, under the job's gate (format.md section 6),
 * so that prune cannot remove the job between this check and the claim.
 */
export async function claimUnderGate(
  jobDir: string,
  jobId: string,
  options: { stream?: string; hmacKey?: string | Buffer; streamWaitMs?: number },
): Promise<Claimed> {
  const key = options.hmacKey === undefined ? chainKeyFromEnv() : Buffer.from(options.hmacKey);
  // A stream held by a live writer is waited for outside the gate, which others need meanwhile.
  const deadline = Date.now() + (options.streamWaitMs ?? 0);
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      return await underJobGate(jobDir, () => claimOnce(jobDir, jobId, options, key));
    } catch (err) {
      if (!(err instanceof StreamHeldError) || Date.now() + pause > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** The stream asked for is held by a live process (a LockedError, as before the wait existed). */
class StreamHeldError extends LockedError {}

async function claimOnce(
  jobDir: string,
  jobId: string,
  options: { stream?: string; hmacKey?: string | Buffer },
  key: Buffer | undefined,
): Promise<Claimed> {
  const manifest = await ensureManifest(
    jobDir,
    jobId,
    key === undefined ? undefined : { keyCheck: keyCheckOf(key) },
  );
  if (options.hmacKey !== undefined && manifest.chain !== 'hmac-sha256') {
    throw new InvalidArgumentError(
      `the log of job ${jobId} was created without a key: its chain cannot become keyed`,
    );
  }
  // Refuses a keyed log without its key (and the reverse) before any stream is claimed.
  const chain = chainOf(manifest, key);
  const claimed = await claimStream(jobDir, jobId, options.stream, manifest);
  return { manifest, chain, ...claimed };
}

/** The stream's lock, once the stream is known whole (assertStreamWhole); else the lock is let go. */
async function claimWhole(
  jobDir: string,
  jobId: string,
  stream: string,
  manifest: Manifest,
): Promise<HeldLock> {
  const lock = await acquireLock(path.join(jobDir, lockFileName(stream)), `stream ${stream} of job ${jobId}`);
  try {
    await assertStreamWhole(jobDir, manifest, stream);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/**
 * `main` unless a live process holds it; then the stream of a writer of this host that died holding it
 * (a killed runner or ingest restarted: it goes on where it stopped, and the ids it wrote are recognised
 * by a resend); then `<host>-<pid>` (and `-2`, `-3`, ... within one process).
 */
async function claimStream(
  jobDir: string,
  jobId: string,
  requested: string | undefined,
  manifest: Manifest,
): Promise<{ stream: string; lock: HeldLock }> {
  const claim = async (stream: string) => ({
    stream,
    lock: await claimWhole(jobDir, jobId, stream, manifest),
  });
  if (requested !== undefined) {
    try {
      return await claim(requested);
    } catch (err) {
      throw err instanceof LockedError
        ? new StreamHeldError(err.message, { cause: err, hint: err.hint })
        : err;
    }
  }
  try {
    return await claim('main');
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
  }
  // Only once main is held: the common open pays for no listing and no lock reads.
  const host = sanitizeIdPart(os.hostname());
  const own = `${host}-${process.pid}`;
  const orphans = await orphanedStreams(jobDir, host);
  for (const candidate of [...orphans, own, ...Array.from({ length: 62 }, (_, i) => `${own}-${i + 2}`)]) {
    try {
      return await claim(candidate);
    } catch (err) {
      // A dead writer's stream that is damaged is for `events verify` to name; this writer moves on.
      const damagedOrphan = err instanceof DataError && orphans.includes(candidate);
      if (!(err instanceof LockedError) && !damagedOrphan) throw err;
    }
  }
  throw new LockedError(`no free stream for job ${jobId} in this process`);
}

/**
 * Streams of this host (`<host>-…`) whose lock a process that is gone still holds, the most recently
 * started first. Nothing is taken here: claiming one takes its stale lock over, as for any stream.
 */
async function orphanedStreams(jobDir: string, host: string): Promise<string[]> {
  const found: { stream: string; started: string }[] = [];
  for (const name of await fs.promises.readdir(jobDir)) {
    if (!isStreamLockFileName(name) || !name.startsWith(`${host}-`)) continue;
    const owner = await readLockOwner(path.join(jobDir, name)).catch(() => undefined);
    // isOwnerAlive assumes a process of another host is alive: a dead owner is one of this host.
    if (owner !== undefined && !isOwnerAlive(owner)) {
      found.push({ stream: streamOfLockFileName(name), started: owner.started });
    }
  }
  return found.sort((a, b) => b.started.localeCompare(a.started)).map((f) => f.stream);
}

/**
 * Creates the job directory if needed and runs `claim` holding its gate. Prune moves a job it removes
 * out of the way under the gate: a writer that finds the directory gone meanwhile makes it again (a
 * new log of the same job id) and takes the gate there.
 */
async function underJobGate<T>(jobDir: string, claim: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await mkdirDurable(jobDir);
    let gate: HeldLock;
    try {
      gate = await acquireJobGate(jobDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && attempt < 100) continue;
      throw err;
    }
    try {
      return await claim();
    } finally {
      await gate.release();
    }
  }
}
