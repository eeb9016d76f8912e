import path from 'node:path';
import { uuidv7 } from '../format/uuid7.js';
import { DataError, errnoCode } from '../format/errors.js';
import {
  createFileExclusive,
  readRegularFile,
  readRegularFileSync,
  writeFileAtomic,
  writeFileAtomicSync,
} from './fsutil.js';
import { MANIFEST_FILE } from '../format/paths.js';

/** Where a stream begins: its first seq and the `prev` of its first line. */
export interface StreamStart {
  seq: number;
  prev: string;
}

export interface StreamRecord {
  newest_segment: number;
}

/** LOG.json: the identity of a job's log and where each stream begins (docs/format.md section 3). */
export interface Manifest {
  format: 'mmm-events';
  version: 1;
  log_id: string;
  job_id: string;
  created: string;
  start: Record<string, StreamStart>;
  /**
   * Every stream the log has begun, with the base seq of its newest segment, recorded before the first
   * line is written there (format.md section 3): what lets verify name a stream or segment that is gone.
   * Absent in logs written before it existed; a writer that opens such a log records every stream.
   */
  streams?: Record<string, StreamRecord>;
  /** `hmac-sha256`: `prev` is an HMAC with a key the writers hold (format.md section 5). Default sha256. */
  chain?: 'sha256' | 'hmac-sha256';
  /** For a keyed chain: an HMAC of a fixed text, to tell the right key from a wrong one. */
  key_check?: string;
}

export async function readManifest(jobDir: string): Promise<Manifest | undefined> {
  const file = path.join(jobDir, MANIFEST_FILE);
  try {
    return parseManifest(file, await readRegularFile(file));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** readManifest for a writer that must not yield (a rotation, format.md section 8). */
export function readManifestSync(jobDir: string): Manifest | undefined {
  const file = path.join(jobDir, MANIFEST_FILE);
  try {
    return parseManifest(file, readRegularFileSync(file));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function parseManifest(file: string, text: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DataError(`${file} is not valid JSON`);
  }
  const manifest = manifestOf(parsed);
  if (typeof manifest === 'string') {
    const version = (parsed as { version?: unknown } | null)?.version;
    if (version !== undefined && version !== 1) {
      throw new DataError(`${file} has format version ${String(version)}; this mmm-events reads version 1`, {
        hint: 'upgrade mmm-events to read this log',
      });
    }
    throw new DataError(`${file} is not a valid manifest: ${manifest}`);
  }
  return manifest;
}

const isText = (value: unknown): value is string => typeof value === 'string';
const isPositive = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

/** An object whose every value passes `check`; its own copy (only plain data is kept). */
function recordOf<T>(value: unknown, check: (entry: Record<string, unknown>) => T | undefined) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, T> = {};
  for (const [key, entry] of Object.entries(value)) {
    const checked =
      typeof entry === 'object' && entry !== null ? check(entry as Record<string, unknown>) : undefined;
    if (checked === undefined) return undefined;
    out[key] = checked;
  }
  return out;
}

/**
 * The manifest in `value`, with only its known fields (others are dropped, as a reader of a later
 * minor version would); else the first thing wrong with it. Checked by hand: every command reads it.
 */
function manifestOf(value: unknown): Manifest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const m = value as Record<string, unknown>;
  if (m.format !== 'mmm-events') return 'format: expected "mmm-events"';
  if (m.version !== 1) return 'version: expected 1';
  for (const field of ['log_id', 'job_id'] as const) {
    if (!isText(m[field]) || m[field] === '') return `${field}: expected a non-empty string`;
  }
  if (!isText(m.created)) return 'created: expected a string';
  const start = recordOf(m.start, (s) =>
    isPositive(s.seq) && isText(s.prev) ? { seq: s.seq, prev: s.prev } : undefined,
  );
  if (start === undefined) return 'start: expected {stream: {seq, prev}}';
  const streams =
    m.streams === undefined
      ? undefined
      : recordOf(m.streams, (s) =>
          isPositive(s.newest_segment) ? { newest_segment: s.newest_segment } : undefined,
        );
  if (m.streams !== undefined && streams === undefined) return 'streams: expected {stream: {newest_segment}}';
  if (m.chain !== undefined && m.chain !== 'sha256' && m.chain !== 'hmac-sha256') {
    return 'chain: expected "sha256" or "hmac-sha256"';
  }
  if (m.key_check !== undefined && !isText(m.key_check)) return 'key_check: expected a string';
  return {
    format: 'mmm-events',
    version: 1,
    log_id: m.log_id as string,
    job_id: m.job_id as string,
    created: m.created,
    start,
    ...(streams === undefined ? {} : { streams }),
    ...(m.chain === undefined ? {} : { chain: m.chain }),
    ...(m.key_check === undefined ? {} : { key_check: m.key_check }),
  };
}

/** Reads LOG.json, creating it first if this is a new job; safe when several processes race. */
export async function ensureManifest(
  jobDir: string,
  jobId: string,
  keyed?: { keyCheck: string },
): Promise<Manifest> {
  const existing = await readManifest(jobDir);
  if (existing !== undefined) return checkJob(existing, jobId, jobDir);
  const manifest: Manifest = {
    format: 'mmm-events',
    version: 1,
    log_id: uuidv7(),
    job_id: jobId,
    created: new Date().toISOString(),
    start: {},
    streams: {},
    ...(keyed === undefined ? {} : { chain: 'hmac-sha256' as const, key_check: keyed.keyCheck }),
  };
  if (await createFileExclusive(path.join(jobDir, MANIFEST_FILE), serializeManifest(manifest)))
    return manifest;
  const winner = await readManifest(jobDir);
  if (winner === undefined) throw new DataError(`${path.join(jobDir, MANIFEST_FILE)} vanished while opening`);
  return checkJob(winner, jobId, jobDir);
}

export async function writeManifest(jobDir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path.join(jobDir, MANIFEST_FILE), serializeManifest(manifest));
}

/** writeManifest for a writer that must not yield. */
export function writeManifestSync(jobDir: string, manifest: Manifest): void {
  writeFileAtomicSync(path.join(jobDir, MANIFEST_FILE), serializeManifest(manifest));
}

/**
 * The manifest with `stream`'s newest segment recorded at `baseSeq` (never moved back), or undefined
 * when it already says so. A log from before stream records gains the record of every stream in
 * `onDisk` (stream → base seq of its newest segment found), so that from now on none can vanish unseen.
 */
export function withNewestSegment(
  manifest: Manifest,
  stream: string,
  baseSeq: number,
  onDisk: Record<string, number> = {},
): Manifest | undefined {
  const streams = {
    ...(manifest.streams ??
      Object.fromEntries(Object.entries(onDisk).map(([name, newest]) => [name, { newest_segment: newest }]))),
  };
  const recorded = streams[stream]?.newest_segment;
  if (manifest.streams !== undefined && recorded !== undefined && recorded >= baseSeq) return undefined;
  streams[stream] = { newest_segment: Math.max(recorded ?? 0, baseSeq) };
  return { ...manifest, streams };
}

/** LOG.json as text. */
export function serializeManifest(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + '\n';
}

function checkJob(manifest: Manifest, jobId: string, jobDir: string): Manifest {
  if (manifest.job_id !== jobId) {
    throw new DataError(`${jobDir}/${MANIFEST_FILE} belongs to job ${manifest.job_id}, not ${jobId}`);
  }
  return manifest;
}
