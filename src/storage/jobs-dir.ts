import fs from 'node:fs/promises';
import path from 'node:path';
import { DataError, NotFoundError } from '../format/errors.js';
import { assertJobDirName, isJobDirName } from '../format/ids.js';
import type { ReadStats } from './line-reader.js';
import { readManifest, type Manifest } from './manifest.js';
import {
  JOB_SUMMARY_FILE,
  MANIFEST_FILE,
  parseJobDirName,
  parseSegmentFileName,
  QUARANTINE_DIR,
} from '../format/paths.js';

/**
 * The jobs of an events directory: subdirectories with a LOG.json, sorted by name. In an archive a
 * reused job id's later logs are `<job id>@<log id>` (format.md section 10): listed as jobs of their own.
 */
export async function listJobIds(dir: string): Promise<string[]> {
  return (await scanJobDirs(dir)).jobs;
}

/**
 * Directories that hold a job's files but no LOG.json (segments, an index.json, quarantined tails):
 * a job whose manifest was removed is damage, not absence (format.md section 3). With the reason.
 */
export async function listJobDirsWithoutManifest(dir: string): Promise<JobDirProblem[]> {
  return (await scanJobDirs(dir)).withoutManifest;
}

/**
 * The jobs a read of every job reads; each directory that holds a log's files without its LOG.json is
 * put in `stats` as skipped whole, with why, so that the command says so (issue 11).
 */
export async function listJobsToRead(dir: string, stats: Map<string, ReadStats>): Promise<string[]> {
  const { jobs, withoutManifest } = await scanJobDirs(dir);
  for (const { job, problem } of withoutManifest)
    stats.set(job, { corrupt: 0, tornTail: false, skipped: problem });
  return jobs;
}

export interface JobDirProblem {
  job: string;
  problem: string;
}

export async function scanJobDirs(
  dir: string,
): Promise<{ jobs: string[]; withoutManifest: JobDirProblem[] }> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const jobs: string[] = [];
  const withoutManifest: JobDirProblem[] = [];
  for (const entry of entries) {
    // A symlinked job directory could point anywhere: only real directories are jobs.
    if (!entry.isDirectory() || !isJobDirName(entry.name)) continue;
    try {
      await fs.access(path.join(dir, entry.name, MANIFEST_FILE));
      jobs.push(entry.name);
    } catch {
      // Not a job (global/, a stray directory), or a job whose LOG.json is gone.
      const problem = await missingManifest(path.join(dir, entry.name));
      if (problem !== undefined) withoutManifest.push({ job: entry.name, problem });
    }
  }
  return { jobs: jobs.sort(), withoutManifest: withoutManifest.sort((a, b) => (a.job < b.job ? -1 : 1)) };
}

/** Why a job directory that has no LOG.json is damaged, or undefined when it is not (not a job). */
export async function missingManifest(jobDir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await fs.readdir(jobDir);
  } catch {
    return undefined;
  }
  if (names.includes(MANIFEST_FILE)) return undefined;
  const evidence = names.filter(
    (name) =>
      parseSegmentFileName(name) !== undefined || name === JOB_SUMMARY_FILE || name === QUARANTINE_DIR,
  );
  if (evidence.length === 0) return undefined;
  return `its ${MANIFEST_FILE} is missing, but it holds ${evidence.length} of a log's files (${evidence.slice(0, 3).join(', ')}${evidence.length > 3 ? ', ...' : ''})`;
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
