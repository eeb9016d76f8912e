import path from 'node:path';
import { uuidv7 } from '../format/uuid7.js';
import { z } from 'zod';
import { DataError, errnoCode } from '../format/errors.js';
import {
  createFileExclusive,
  readRegularFile,
  readRegularFileSync,
  writeFileAtomic,
  writeFileAtomicSync,
} from './fsutil.js';
import { MANIFEST_FILE } from '../format/paths.js';

const streamStartSchema = z.object({ seq: z.int().positive(), prev: z.string() });
const streamRecordSchema = z.object({ newest_segment: z.int().positive() });

/** LOG.json: the identity of a job's log and where each stream begins (docs/format.md section 3). */
export const manifestSchema = z.object({
  format: z.literal('mmm-events'),
  version: z.literal(1),
  log_id: z.string().min(1),
  job_id: z.string().min(1),
  created: z.string(),
  start: z.record(z.string(), streamStartSchema),
  /**
   * Every stream the log has begun, with the base seq of its newest segment, recorded before the first
   * line is written there (format.md section 3): what lets verify name a stream or segment that is gone.
   * Absent in logs written before it existed; a writer that opens such a log records every stream.
   */
  streams: z.record(z.string(), streamRecordSchema).optional(),
  /** `hmac-sha256`: `prev` is an HMAC with a key the writers hold (format.md section 5). Default sha256. */
  chain: z.enum(['sha256', 'hmac-sha256']).optional(),
  /** For a keyed chain: an HMAC of a fixed text, to tell the right key from a wrong one. */
  key_check: z.string().optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type StreamStart = z.infer<typeof streamStartSchema>;
export type StreamRecord = z.infer<typeof streamRecordSchema>;

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
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const version = (parsed as { version?: unknown } | null)?.version;
    if (version !== undefined && version !== 1) {
      throw new DataError(`${file} has format version ${String(version)}; this mmm-events reads version 1`, {
        hint: 'upgrade mmm-events to read this log',
      });
    }
    throw new DataError(`${file} is not a valid manifest: ${result.error.issues[0]?.message ?? 'invalid'}`);
  }
  return result.data;
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
