import { isStrings, matchesShape, type Checks } from './shape.js';

/**
 * The entries of a segment's `.idx` (format.md section 8): a block entry per block of whole lines,
 * then a seal entry once the segment is sealed. Pure: what the entries are and how one is checked
 * (by hand, not zod: every read opens indexes, and zod is loaded only by the commands that validate
 * input).
 */

export const DEFAULT_BLOCK_BYTES = 128 * 1024;

type Range = [number, number];

export interface BlockEntry {
  block: number;
  /** First and last seq in the block. */
  seq: Range;
  /** Index of the block's first line in the segment, and its number of lines. */
  lines: Range;
  /** Byte offsets in the plain segment: [start, end). */
  off: Range;
  /** Offsets of the block's gzip member in the `.jsonl.gz`: [start, end), once compressed. */
  gz?: Range;
  ts: [string, string];
  types: string[];
  agents: string[];
}

export interface SealEntry {
  seal: true;
  count: number;
  seq: Range;
  ts: [string, string];
  bytes: number;
  sha256: string;
  last_hash: string;
  types: Record<string, number>;
  agents: Record<string, number>;
}

export interface SegmentIndex {
  blocks: BlockEntry[];
  seal: SealEntry | undefined;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function isRange(value: unknown): value is Range {
  return Array.isArray(value) && value.length === 2 && isCount(value[0]) && isCount(value[1]);
}

const isTsRange = (value: unknown) => isStrings(value) && value.length === 2;

/** An object of counts: a seal's `types` and `agents`. */
function isCounts(value: unknown): value is Record<string, number> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((n) => Number.isSafeInteger(n))
  );
}

/** Each field of a block entry, in the order it is written, and its check. */
const BLOCK_CHECKS: Checks<BlockEntry> = {
  block: isCount,
  seq: isRange,
  lines: isRange,
  off: isRange,
  gz: (value) => value === undefined || isRange(value),
  ts: isTsRange,
  types: isStrings,
  agents: isStrings,
};

/** Each field of a seal entry, in the order it is written, and its check. */
const SEAL_CHECKS: Checks<SealEntry> = {
  seal: (value) => value === true,
  count: isCount,
  seq: isRange,
  ts: isTsRange,
  bytes: isCount,
  sha256: (value) => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value),
  last_hash: (value) => typeof value === 'string',
  types: isCounts,
  agents: isCounts,
};

export const BLOCK_FIELDS = Object.keys(BLOCK_CHECKS) as (keyof BlockEntry)[];
export const SEAL_FIELDS = Object.keys(SEAL_CHECKS) as (keyof SealEntry)[];
/** What `checkSegmentIndex` compares with a scan: all but the block's number and its gzip member (not in a plain scan). */
export const CHECKED_BLOCK_FIELDS = BLOCK_FIELDS.filter(
  (f): f is Exclude<keyof BlockEntry, 'block' | 'gz'> => f !== 'block' && f !== 'gz',
);
export const CHECKED_SEAL_FIELDS = SEAL_FIELDS.filter(
  (f): f is Exclude<keyof SealEntry, 'seal'> => f !== 'seal',
);

export function isBlockEntry(value: unknown): value is BlockEntry {
  return matchesShape(value, BLOCK_CHECKS, BLOCK_FIELDS);
}

export function isSealEntry(value: unknown): value is SealEntry {
  return matchesShape(value, SEAL_CHECKS, SEAL_FIELDS);
}
