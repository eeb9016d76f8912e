import { openRegular } from '../fsutil.js';
import { readCurrentSegment } from '../recover.js';
import path from 'node:path';
import { parseMicros } from '../clock.js';
import { isCompressed, type ReadRange } from '../line-reader.js';
import { readIndexTail, readSegmentIndex, type BlockEntry, type SealEntry } from '../segment-index.js';
import { kindMatcher } from './event-type.js';
import type { EventFilter } from './filter.js';

/** What a read needs from a segment, as far as its index can tell without reading the lines. */
export interface BlockWant {
  afterSeq: number;
  untilSeq: number;
  sinceUs?: number;
  untilUs?: number;
  /** Could a block with these event types / agents hold a match? Undefined: any could. */
  types?: (type: string) => boolean;
  agents?: Set<string>;
  /** One range per block instead of joining neighbours (a reader that goes backwards). */
  perBlock?: boolean;
  /** The segment is a stream's newest (it may have no index yet): a missing index is not a problem. */
  mayLackIndex?: boolean;
}

export interface SegmentPlan {
  ranges: ReadRange[];
  /** The highest seq in blocks skipped without reading (the cursor may move past them). */
  skippedThrough: number;
  /** Why the index was not used, when it exists but disagrees with the segment. */
  problem?: string;
}

/**
 * Uses a segment's index to read only the blocks that can hold a match: outside the seq or time
 * range, or without a wanted event type or agent, a block is not read at all (DESIGN.md section 4).
 * The bytes after the last indexed block (the active segment's newest lines) are always read. An
 * index that disagrees with its segment is not used: the whole segment is read, and `problem` says why.
 */
export async function planSegment(listed: string, want: BlockWant): Promise<SegmentPlan> {
  // Compressed or pruned while it is planned: planned again as it is then.
  const plan = await readCurrentSegment(listed, (current) => planCurrent(current, want));
  return plan ?? { ranges: [], skippedThrough: 0 };
}

async function planCurrent(
  { file, size }: { file: string; size: number },
  want: BlockWant,
): Promise<SegmentPlan> {
  const whole = { ranges: [{ file, from: 0 }], skippedThrough: 0 };
  const compressed = isCompressed(file);
  // A sealed segment that cannot hold a match is skipped on its seal alone, its blocks unread.
  const tail = await readIndexTail(file, size);
  if (tail !== undefined && !sealCanMatch(tail.seal, want)) {
    const pastUntil = want.untilUs !== undefined && parseMicros(tail.seal.ts[0]) >= want.untilUs;
    return { ranges: [], skippedThrough: pastUntil ? 0 : Math.min(tail.seal.seq[1], want.untilSeq) };
  }
  const read = await readSegmentIndex(file, size);
  if ('problem' in read) {
    // The newest segment of a log from before indexes may have none; a sealed segment always has one.
    const silent = read.problem === 'no index' && want.mayLackIndex === true;
    const problem = read.problem === 'no index' ? 'the index file is missing' : read.problem;
    return silent ? whole : { ...whole, problem };
  }
  const ranges: ReadRange[] = [];
  let skippedThrough = 0;
  for (const block of read.index.blocks) {
    // Events at or after --until are not read, and the cursor does not move past them.
    if (want.untilUs !== undefined && parseMicros(block.ts[0]) >= want.untilUs) break;
    if (!wanted(block, want)) {
      skippedThrough = Math.max(skippedThrough, block.seq[1]);
      continue;
    }
    const last = ranges.at(-1);
    // A compressed block is one gzip member, decompressed on its own (memory stays at a block).
    if (block.gz !== undefined && compressed) ranges.push({ file, from: block.gz[0], to: block.gz[1] });
    else if (last?.to === block.off[0] && want.perBlock !== true) last.to = block.off[1];
    else ranges.push({ file, from: block.off[0], to: block.off[1] });
  }
  const indexedEnd = read.index.blocks.at(-1)?.off[1] ?? 0;
  const lastTs = read.index.blocks.at(-1)?.ts[1];
  const pastUntil = want.untilUs !== undefined && lastTs !== undefined && parseMicros(lastTs) >= want.untilUs;
  if (!compressed && indexedEnd < size && !pastUntil) ranges.push({ file, from: indexedEnd });
  const problem = compressed ? undefined : await checkRangeStarts(file, ranges, read.index.blocks);
  return problem === undefined ? { ranges, skippedThrough } : { ...whole, problem };
}

function sealCanMatch(seal: SealEntry, want: BlockWant): boolean {
  if (seal.count === 0) return false;
  if (seal.seq[1] <= want.afterSeq || seal.seq[0] > want.untilSeq) return false;
  if (want.sinceUs !== undefined && parseMicros(seal.ts[1]) < want.sinceUs) return false;
  if (want.untilUs !== undefined && parseMicros(seal.ts[0]) >= want.untilUs) return false;
  if (want.types !== undefined && !Object.keys(seal.types).some(want.types)) return false;
  if (want.agents !== undefined && !Object.keys(seal.agents).some((a) => want.agents?.has(a))) return false;
  return true;
}

function wanted(block: BlockEntry, want: BlockWant): boolean {
  if (block.seq[1] <= want.afterSeq || block.seq[0] > want.untilSeq) return false;
  if (want.sinceUs !== undefined && parseMicros(block.ts[1]) < want.sinceUs) return false;
  if (want.types !== undefined && !block.types.some(want.types)) return false;
  if (want.agents !== undefined && !block.agents.some((a) => want.agents?.has(a))) return false;
  return true;
}

/**
 * The index is trusted only where it can be checked cheaply: every range to read must start right
 * after a newline, with the line of the seq the index says.
 */
async function checkRangeStarts(
  file: string,
  ranges: ReadRange[],
  blocks: BlockEntry[],
): Promise<string | undefined> {
  const firstSeqAt = new Map(blocks.map((b) => [b.off[0], b.seq[0]]));
  const handle = await openRegular(file, 'r');
  try {
    const probe = Buffer.alloc(32);
    for (const range of ranges) {
      const expected = firstSeqAt.get(range.from);
      if (expected === undefined || range.from === 0) continue;
      const { bytesRead } = await handle.read(probe, 0, probe.length, range.from - 1);
      if (!probe.toString('latin1', 0, bytesRead).startsWith(`\n{"seq":${expected},`)) {
        return `block at byte ${range.from} of ${path.basename(file)} does not start with the line of seq ${expected}`;
      }
    }
  } finally {
    await handle.close();
  }
  return undefined;
}

/** The block-level parts of a filter: which event types and agents can match. */
export function blockWant(filter: EventFilter): Pick<BlockWant, 'types' | 'agents'> {
  return {
    types: kindMatcher(filter.kinds ?? []),
    agents: filter.agents?.length ? new Set(filter.agents) : undefined,
  };
}
