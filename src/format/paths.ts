import path from 'node:path';

/** Where logs live unless told otherwise (docs/format.md section 1). */
export const DEFAULT_EVENTS_DIR = path.join('.mmm', 'mapreduce', 'events');
export const MANIFEST_FILE = 'LOG.json';
export const QUARANTINE_DIR = 'quarantine';
/** The per-job summary cache `events jobs` reads (format.md section 8). */
export const JOB_SUMMARY_FILE = 'index.json';

const SEQ_DIGITS = 20;
const SEGMENT_NAME = /^events-(.+)-(\d{20})\.jsonl(\.gz)?$/;

export interface SegmentName {
  stream: string;
  baseSeq: number;
  compressed: boolean;
  file: string;
}

/** `events-<stream>-<baseSeq:20>.jsonl`: zero-padded so `ls` order is log order. */
export function segmentFileName(stream: string, baseSeq: number, compressed = false): string {
  return `events-${stream}-${String(baseSeq).padStart(SEQ_DIGITS, '0')}.jsonl${compressed ? '.gz' : ''}`;
}

export function parseSegmentFileName(file: string): SegmentName | undefined {
  const match = SEGMENT_NAME.exec(file);
  if (match === null) return undefined;
  return { stream: match[1] ?? '', baseSeq: Number(match[2]), compressed: match[3] !== undefined, file };
}

export function lockFileName(stream: string): string {
  return `${stream}${LOCK_SUFFIX}`;
}

const LOCK_SUFFIX = '.lock';

/** The stream a stream's lock file is for (see isStreamLockFileName). */
export function streamOfLockFileName(name: string): string {
  return name.slice(0, -LOCK_SUFFIX.length);
}

/** A stream's lock file, `<stream>.lock` (the job's gate starts with a dot: not one). */
export function isStreamLockFileName(name: string): boolean {
  return name.endsWith(LOCK_SUFFIX) && !name.startsWith('.');
}

/** A lock file of the log's (a stream's, the job's gate, prune's), or a takeover guard of one. */
export function isLockFileName(name: string): boolean {
  return name.endsWith(LOCK_SUFFIX) || name.endsWith(TAKEOVER_SUFFIX);
}

const TAKEOVER_SUFFIX = '.takeover';

/** The short-lived guard taken while a stale lock is removed (format.md section 6). */
export function takeoverGuardOf(lockFile: string): string {
  return `${lockFile}${TAKEOVER_SUFFIX}`;
}

/** Whether a segment file is compressed (`.jsonl.gz`, format.md section 9). */
export function isCompressed(file: string): boolean {
  return file.endsWith('.gz');
}

/** The `.idx` path of a segment (`.jsonl` or `.jsonl.gz`, format.md section 8). */
export function indexFileOf(segmentFile: string): string {
  return segmentFile.replace(/\.jsonl(\.gz)?$/, '.idx');
}

/** Where recovery keeps a torn tail it cut off (format.md section 7): `quarantine/<segment>.<offset>.<ms>.torn`. */
export function quarantineFileName(segmentFile: string, offset: number, ms: number): string {
  return `${segmentFile}.${offset}.${ms}.torn`;
}

/** The log's own directory beside the jobs (format.md section 1): never a job id. */
export const GLOBAL_DIR = 'global';
export const PRUNE_LOCK_FILE = 'prune.lock';
/** The retention policy of `events prune`, in the events directory (docs/cli.md). */
export const PRUNE_CONFIG_FILE = 'prune.json';

/** `global/audit-<YYYY-MM-DD>.jsonl`: what prune removed that day (format.md section 10). */
export function auditFileName(date: string): string {
  return `audit-${date}.jsonl`;
}

/** `global/metrics-<YYYY-MM-DD>.json`: what `events stats --save` wrote that day. */
export function metricsFileName(date: string): string {
  return `metrics-${date}.json`;
}

/** `global/collect-<durable>.json`: a collector's consumer restart in progress (docs/deployment.md). */
export function collectRestartFileName(durable: string): string {
  return `collect-${durable}.json`;
}

/** Whether a name in `global/` is one the log writes there. */
export function isGlobalFileName(name: string): boolean {
  return (
    name === PRUNE_LOCK_FILE ||
    /^audit-.*\.jsonl$/.test(name) ||
    /^metrics-.*\.json$/.test(name) ||
    /^collect-.*\.json$/.test(name)
  );
}
/**
 * Names of `<dir>` entries the log uses for itself. A job id may not be one of them, compared without
 * case, since on a case-insensitive filesystem `Global` is `global` (issue 10).
 */
export const RESERVED_JOB_IDS: readonly string[] = [GLOBAL_DIR];

/**
 * The job's gate (format.md section 6): held while a writer claims a stream, while a segment is
 * replaced by its compressed form, and while prune moves or removes the job's files, so that no
 * decision about a job's files is taken without it. It starts with a dot: no stream's lock can have
 * its name.
 */
export const JOB_GATE_FILE = '.job.lock';

/**
 * Temporary files start with `.tmp-<pid>-`: ids start with a letter or digit and every name the log
 * gives a file starts with one too, so no segment, index, lock or manifest can ever look like a
 * temporary file (format.md section 1). The target's name is kept at the end (a `.gz` stays a `.gz`).
 */
export function tempPathFor(file: string): string {
  const random = Math.random().toString(36).slice(2, 10);
  return path.join(path.dirname(file), `.tmp-${process.pid}-${random}-${path.basename(file)}`);
}

/** The pid that made a temporary file, or undefined when `name` is not a temporary file's name. */
export function tempFileOwner(name: string): number | undefined {
  const match = /^\.tmp-(\d+)-/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/**
 * A job being removed by prune is first renamed to `<dir>/.pruning-<job>-<random>/` (one rename: it is
 * gone from the events directory at once), with `PRUNE_INTENT_FILE` saying what is to become of it; a
 * prune killed after the rename is finished by the next one (format.md section 10).
 */
export const PRUNING_PREFIX = '.pruning-';
export const PRUNE_INTENT_FILE = 'PRUNE.json';

/**
 * The directory name of a log in an events directory: its job id, or, in an archive that already holds
 * another log of the same job id (a job id reused, as nightly jobs do), `<job_id>@<log_id>` (format.md
 * section 10). `@` is not an id character, so no writer ever opens such a directory.
 */
export function archivedLogDirName(jobId: string, logId: string): string {
  return `${jobId}@${logId}`;
}

/** The job id and (for an archived reused id) the log id a job directory's name stands for. */
export function parseJobDirName(name: string): { jobId: string; logId?: string } {
  const at = name.indexOf('@');
  return at === -1 ? { jobId: name } : { jobId: name.slice(0, at), logId: name.slice(at + 1) };
}
