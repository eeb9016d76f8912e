import path from 'node:path';
import { z } from 'zod';
import { DataError, InvalidArgumentError, errnoCode } from '../format/errors.js';
import { readRegularFile } from '../storage/fsutil.js';
import { parseTimeSpan } from '../format/time-parse.js';
import { PRUNE_CONFIG_FILE } from '../format/paths.js';

/** What `events prune` may remove; every rule given applies (docs/format.md section 10). */
export interface PrunePolicy {
  /** Remove what is older than this (ms): sealed segments whose last event is older, and whole jobs. */
  olderThanMs?: number;
  /** Remove the oldest until the events directory holds at most this many bytes. */
  maxBytes?: number;
  /** The newest N jobs (by last event) are never touched. */
  keepJobs?: number;
  /** Remove a job's oldest sealed segments while it holds more events than this. */
  maxEvents?: number;
  /** Only these jobs. */
  jobs?: string[];
  /** Allow removing a whole job whose writer is alive or that never ended (off by default). */
  includeRunning?: boolean;
  /** Move what is removed to this events directory instead of deleting it. */
  archive?: string;
}

/** The policy file in the events directory; flags override it field by field. */
export { PRUNE_CONFIG_FILE } from '../format/paths.js';

const configSchema = z.strictObject({
  olderThan: z.string().optional(),
  maxSize: z.string().optional(),
  keepJobs: z.int().nonnegative().optional(),
  maxEvents: z.int().positive().optional(),
  includeRunning: z.boolean().optional(),
  archive: z.string().optional(),
});

export type PruneConfig = z.infer<typeof configSchema>;

/** Reads `<dir>/prune.json` if there is one. */
export async function readPruneConfig(dir: string): Promise<PruneConfig> {
  const file = path.join(dir, PRUNE_CONFIG_FILE);
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return {};
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DataError(`${file} is not valid JSON`);
  }
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(`${file}: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`, {
      hint: `see docs/cli.md, "events prune", for its fields`,
    });
  }
  return parsed.data;
}

/** The config's fields, overridden by those given as flags, as a policy. */
export function toPolicy(
  config: PruneConfig,
  flags: PruneConfig & { jobs?: string[] },
  dir: string,
  labels: Partial<Record<'olderThan' | 'maxSize', string>> = {},
): PrunePolicy {
  const merged = {
    ...config,
    ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
  };
  // A bad value is named where it was written: as the caller labels its overrides (the CLI: by its
  // flags), or the field of prune.json.
  const source = (field: 'olderThan' | 'maxSize') =>
    flags[field] !== undefined ? (labels[field] ?? field) : `${path.join(dir, PRUNE_CONFIG_FILE)}: ${field}`;
  return {
    olderThanMs:
      merged.olderThan === undefined ? undefined : parseDuration(source('olderThan'), merged.olderThan),
    maxBytes: merged.maxSize === undefined ? undefined : parseSize(source('maxSize'), merged.maxSize),
    keepJobs: merged.keepJobs,
    maxEvents: merged.maxEvents,
    jobs: flags.jobs,
    includeRunning: merged.includeRunning,
    archive: merged.archive === undefined ? undefined : path.resolve(dir, merged.archive),
  };
}

/**
 * `30d`, `12h`, `2w`, `1h30min`, `6M` (months; `m` is minutes) ... as milliseconds: systemd's time
 * spans (see parseTimeSpan). An unknown or missing unit is a usage error listing the units.
 */
export function parseDuration(label: string, text: string): number {
  return parseTimeSpan(label, text) / 1000;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `10GB` (10^9), `512MiB` (2^20), a plain number of bytes; an error names the value by `label`. */
export function parseSize(label: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?i?b)?$/i.exec(text.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? 'b').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new InvalidArgumentError(`${label} takes a size such as 10GB, 500MB or 2GiB, not "${text}"`);
  }
  return Math.floor(Number(m[1]) * unit);
}
