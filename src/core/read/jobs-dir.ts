import fs from 'node:fs/promises';
import path from 'node:path';
import { DataError, NotFoundError } from '../errors.js';
import { assertValidId, isValidId } from '../ids.js';
import { readManifest, type Manifest } from '../manifest.js';
import { MANIFEST_FILE } from '../paths.js';

/** The jobs of an events directory: subdirectories with a LOG.json, sorted by id. */
export async function listJobIds(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const jobs: string[] = [];
  for (const entry of entries) {
    // A symlinked job directory could point anywhere: only real directories are jobs.
    if (!entry.isDirectory() || !isValidId(entry.name)) continue;
    try {
      await fs.access(path.join(dir, entry.name, MANIFEST_FILE));
      jobs.push(entry.name);
    } catch {
      // not a job (global/, a stray directory)
    }
  }
  return jobs.sort();
}

/** A job's manifest, or NotFoundError naming the job and where it looked. */
export async function openJob(dir: string, jobId: string): Promise<{ jobDir: string; manifest: Manifest }> {
  assertValidId('job id', jobId);
  const jobDir = path.join(dir, jobId);
  // A symbolic link could lead anywhere: a job is a real directory inside the events directory.
  const stat = await fs.lstat(jobDir).catch(() => undefined);
  if (stat?.isSymbolicLink() === true) {
    throw new DataError(`${jobDir} is a symbolic link; refusing to read a job outside ${dir}`);
  }
  const manifest = await readManifest(jobDir);
  if (manifest === undefined) {
    throw new NotFoundError(`no job ${jobId} in ${dir}`, { hint: "'events jobs' lists the jobs there" });
  }
  return { jobDir, manifest };
}
