import path from 'node:path';
import { uuidv7 } from './uuid7.js';
import { z } from 'zod';
import { DataError, errnoCode } from './errors.js';
import { createFileExclusive, readRegularFile, writeFileAtomic } from './fsutil.js';
import { MANIFEST_FILE } from './paths.js';

const streamStartSchema = z.object({ seq: z.int().positive(), prev: z.string() });

/** LOG.json: the identity of a job's log and where each stream begins (DESIGN.md section 1). */
export const manifestSchema = z.object({
  format: z.literal('mmm-events'),
  version: z.literal(1),
  log_id: z.string().min(1),
  job_id: z.string().min(1),
  created: z.string(),
  start: z.record(z.string(), streamStartSchema),
  /** `hmac-sha256`: `prev` is an HMAC with a key the writers hold (format.md section 5). Default sha256. */
  chain: z.enum(['sha256', 'hmac-sha256']).optional(),
  /** For a keyed chain: an HMAC of a fixed text, to tell the right key from a wrong one. */
  key_check: z.string().optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type StreamStart = z.infer<typeof streamStartSchema>;

export async function readManifest(jobDir: string): Promise<Manifest | undefined> {
  const file = path.join(jobDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
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
    ...(keyed === undefined ? {} : { chain: 'hmac-sha256' as const, key_check: keyed.keyCheck }),
  };
  if (await createFileExclusive(path.join(jobDir, MANIFEST_FILE), serialize(manifest))) return manifest;
  const winner = await readManifest(jobDir);
  if (winner === undefined) throw new DataError(`${path.join(jobDir, MANIFEST_FILE)} vanished while opening`);
  return checkJob(winner, jobId, jobDir);
}

export async function writeManifest(jobDir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path.join(jobDir, MANIFEST_FILE), serialize(manifest));
}

function serialize(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + '\n';
}

function checkJob(manifest: Manifest, jobId: string, jobDir: string): Manifest {
  if (manifest.job_id !== jobId) {
    throw new DataError(`${jobDir}/${MANIFEST_FILE} belongs to job ${manifest.job_id}, not ${jobId}`);
  }
  return manifest;
}
