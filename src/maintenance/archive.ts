import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DataError, errnoCode, InvalidArgumentError } from '../format/errors.js';
import { crashPoint } from '../storage/fault.js';
import { removeDeadTemps } from '../storage/dead-temps.js';
import { fsyncDir, mkdirDurable, openRegular } from '../storage/fsutil.js';
import { readManifest, withNewestSegment, writeManifest, type Manifest } from '../storage/manifest.js';
import { archivedLogDirName, tempPathFor } from '../format/paths.js';
import { listSegments } from '../storage/segments.js';

/**
 * Where a log goes in an archive: `<archive>/<job>` when that is free or holds this same log (a job
 * archived a segment at a time, or a move a killed prune began), else `<archive>/<job>@<log_id>`: a
 * reused job id never overwrites an older run (format.md section 10).
 */
export async function archiveDirFor(archive: string, manifest: Manifest): Promise<string> {
  const plain = path.join(archive, manifest.job_id);
  const there = await readManifest(plain);
  if (there === undefined || there.log_id === manifest.log_id) {
    // A directory without LOG.json is taken only when empty: anything else there is not ours to mix.
    if (there !== undefined || !(await hasEntries(plain))) return plain;
  }
  return path.join(archive, archivedLogDirName(manifest.job_id, manifest.log_id));
}

/**
 * Makes sure the archived log has its LOG.json before any segment lands there, so the archive is an
 * events directory at every step. An archive that has it already keeps its own `start` for the streams
 * it holds segments of, and takes the log's for the others. The streams LOG.json records (format.md
 * section 3) are the archive's own: each segment is recorded as it lands (recordNewestSegment), and a
 * `whole` job brings its record along, so a segment lost on the way is named there too.
 */
export async function archiveManifest(target: string, manifest: Manifest, whole: boolean): Promise<void> {
  await mkdirDurable(target);
  // Copies a killed prune left half-made are of no use: the move they were part of starts again.
  await removeDeadTemps(target);
  const there = await readManifest(target);
  if (there === undefined) {
    const streams = whole ? manifest.streams : {};
    await writeManifest(target, { ...manifest, streams });
    return;
  }
  if (there.log_id !== manifest.log_id) {
    throw new DataError(`${target} holds the log ${there.log_id}, not ${manifest.log_id}`);
  }
  // Where a stream starts in the archive is where it started in the log when its first segment landed
  // here (a prune may have deleted older ones before archiving began); once it has segments here, the
  // log's later start (after them) says nothing about the archive.
  const landed = new Set((await listSegments(target)).map((s) => s.stream));
  const start = Object.fromEntries([
    ...Object.entries(there.start).filter(([stream]) => landed.has(stream)),
    ...Object.entries(manifest.start).filter(([stream]) => !landed.has(stream)),
  ]);
  const updated: Manifest = { ...there, start };
  let changed = JSON.stringify(start) !== JSON.stringify(there.start);
  if (whole && there.streams !== undefined) {
    for (const [stream, record] of Object.entries(manifest.streams ?? {})) {
      const next = withNewestSegment(updated, stream, record.newest_segment);
      if (next === undefined) continue;
      updated.streams = next.streams;
      changed = true;
    }
  }
  if (changed) await writeManifest(target, updated);
}

/**
 * Moves one file into the archive so that a kill at any moment loses nothing and a rerun finishes it:
 * a rename where both are on one filesystem; across filesystems a copy under a temporary name, synced,
 * read back and compared (SHA-256) with the source, renamed into place, and only then the source
 * removed. A file the archive already has under that name is replaced: it can only be an earlier copy
 * of this same file (segments are never rewritten once sealed).
 */
export async function moveIntoArchive(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if (errnoCode(err) !== 'EXDEV') throw err;
    const tmp = tempPathFor(to);
    try {
      const sourceHash = await copySynced(from, tmp);
      crashPoint('archive:copied');
      if ((await hashOf(tmp)) !== sourceHash) {
        throw new DataError(
          `the copy of ${from} in ${path.dirname(to)} does not match it; the source was kept`,
        );
      }
      await fs.rename(tmp, to);
    } catch (copyErr) {
      await fs.rm(tmp, { force: true });
      throw copyErr;
    }
    await fsyncDir(path.dirname(to));
    crashPoint('archive:placed');
    await fs.rm(from);
  }
  await fsyncDir(path.dirname(to));
}

/**
 * Refuses an archive that is, contains or lies inside the events directory (after resolving links):
 * moving a job onto itself would remove it (issue 10).
 */
export async function assertArchiveOutside(dir: string, archive: string): Promise<void> {
  const [realDir, realArchive] = [await realPathOf(dir), await realPathOf(archive)];
  const inside = (a: string, b: string) => a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
  if (inside(realArchive, realDir) || inside(realDir, realArchive)) {
    throw new InvalidArgumentError(
      `--archive ${archive} ${realArchive === realDir ? 'is' : inside(realArchive, realDir) ? 'lies inside' : 'contains'} the events directory ${dir}`,
      { hint: 'archive into a directory outside the events directory' },
    );
  }
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
async function realPathOf(p: string): Promise<string> {
  const absolute = path.resolve(p);
  try {
    return await fs.realpath(absolute);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' || path.dirname(absolute) === absolute) throw err;
    return path.join(await realPathOf(path.dirname(absolute)), path.basename(absolute));
  }
}

async function hasEntries(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length > 0;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Copies `from` to a new file `to`, synced; returns the SHA-256 of what was read. */
async function copySynced(from: string, to: string): Promise<string> {
  const target = await openRegular(to, 'wx');
  try {
    const hash = await hashOf(from, (chunk) => target.write(chunk));
    await target.sync();
    return hash;
  } finally {
    await target.close();
  }
}

/** The SHA-256 of a file, read a MiB at a time, each chunk also handed to `each`. */
async function hashOf(file: string, each?: (chunk: Buffer) => Promise<unknown>): Promise<string> {
  const hash = crypto.createHash('sha256');
  const handle = await openRegular(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      await each?.(chunk);
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
