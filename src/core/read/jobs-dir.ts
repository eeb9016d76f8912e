import fs from 'node:fs/promises';
import path from 'node:path';
import { DataError, NotFoundError } from '../errors.js';
import { assertJobDirName, isJobDirName } from '../ids.js';
import { readManifest, type Manifest } from '../manifest.js';
import { MANIFEST_FILE, parseJobDirName } from '../paths.js';

/**
 * The jobs of an events directory: subdirectories with a LOG.json, sorted by name. In an archive a
 * reused job id's later logs are `<job id>@<log id>` (format.md section 10): listed as jobs of their own.
 */
export async function listJobIds(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const jobs: string[] = [];
  for (const entry of entries) {
    // A symlinked job directory could point anywhere: only real directories are jobs.
    if (!entry.isDirectory() || !isJobDirName(entry.name)) continue;
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
  assertJobDirName(jobId);
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
  // An archived log of a reused job id is named after its log: it must be that log.
  const named = parseJobDirName(jobId);
  if (named.logId !== undefined && (manifest.job_id !== named.jobId || manifest.log_id !== named.logId)) {
    throw new DataError(
      `${jobDir}/${MANIFEST_FILE} is the log ${manifest.log_id} of job ${manifest.job_id}, not of ${jobId}`,
    );
  }
  return { jobDir, manifest };
}
