import { z } from 'zod';

/**
 * The entries of a segment's `.idx` (format.md section 8): a block entry per block of whole lines,
 * then a seal entry once the segment is sealed. Pure: what the entries are and how one is checked.
 */

export const DEFAULT_BLOCK_BYTES = 128 * 1024;

const range = z.tuple([z.int().nonnegative(), z.int().nonnegative()]);
const tsRange = z.tuple([z.string(), z.string()]);

export const blockEntrySchema = z.strictObject({
  block: z.int().nonnegative(),
  /** First and last seq in the block. */
  seq: range,
  /** Index of the block's first line in the segment, and its number of lines. */
  lines: range,
  /** Byte offsets in the plain segment: [start, end). */
  off: range,
  /** Offsets of the block's gzip member in the `.jsonl.gz`: [start, end), once compressed. */
  gz: range.optional(),
  ts: tsRange,
  types: z.array(z.string()),
  agents: z.array(z.string()),
});

export const sealEntrySchema = z.strictObject({
  seal: z.literal(true),
  count: z.int().nonnegative(),
  seq: range,
  ts: tsRange,
  bytes: z.int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  last_hash: z.string(),
  types: z.record(z.string(), z.int()),
  agents: z.record(z.string(), z.int()),
});

export type BlockEntry = z.infer<typeof blockEntrySchema>;
export type SealEntry = z.infer<typeof sealEntrySchema>;

/** The fields of each kind of entry, from its schema. */
export const BLOCK_FIELDS = Object.keys(blockEntrySchema.shape) as (keyof BlockEntry)[];
export const SEAL_FIELDS = Object.keys(sealEntrySchema.shape) as (keyof SealEntry)[];
/** What `checkSegmentIndex` compares with a scan: all but the block's number and its gzip member (not in a plain scan). */
export const CHECKED_BLOCK_FIELDS = BLOCK_FIELDS.filter(
  (f): f is Exclude<keyof BlockEntry, 'block' | 'gz'> => f !== 'block' && f !== 'gz',
);
export const CHECKED_SEAL_FIELDS = SEAL_FIELDS.filter(
  (f): f is Exclude<keyof SealEntry, 'seal'> => f !== 'seal',
);

export interface SegmentIndex {
  blocks: BlockEntry[];
  seal: SealEntry | undefined;
}

function isRange(value: unknown): value is [number, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    Number.isSafeInteger(value[0]) &&
    Number.isSafeInteger(value[1]) &&
    (value[0] as number) >= 0 &&
    (value[1] as number) >= 0
  );
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** blockEntrySchema field by field, without zod: an index has one entry per 128 KiB of log. */
const BLOCK_CHECKS: { [K in keyof BlockEntry]-?: (value: unknown) => boolean } = {
  block: (value) => Number.isSafeInteger(value) && (value as number) >= 0,
  seq: isRange,
  lines: isRange,
  off: isRange,
  gz: (value) => value === undefined || isRange(value),
  ts: (value) => isStrings(value) && value.length === 2,
  types: isStrings,
  agents: isStrings,
};

export function isBlockEntry(value: unknown): value is BlockEntry {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Record<string, unknown>;
  return (
    Object.keys(b).every((k) => Object.hasOwn(BLOCK_CHECKS, k)) &&
    BLOCK_FIELDS.every((field) => BLOCK_CHECKS[field](b[field]))
  );
}
