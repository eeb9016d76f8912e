import type { FileHandle } from 'node:fs/promises';
import { openRegular } from '../storage/fsutil.js';
import { readCurrentSegment } from '../storage/segments.js';
import path from 'node:path';
import { parseMicros } from '../format/clock.js';
import { isCompressed, type ReadRange } from '../storage/line-reader.js';
import {
  readIndexTail,
  readSegmentIndex,
  type BlockEntry,
  type SealEntry,
} from '../storage/segment-index.js';
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
 * range, or without a wanted event type or agent, a block is not read at all (docs/format.md section 8).
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
  const problem = compressed ? undefined : await checkBoundaries(file, size, ranges, read.index.blocks);
  return problem === undefined ? { ranges, skippedThrough } : { ...whole, problem };
}

/** What a block or seal entry says of its lines, as the skip tests read it. */
type EntryFields = Pick<BlockEntry, 'seq' | 'ts' | 'types' | 'agents'>;

/**
 * The skip tests, each beside the entry field it reads: could lines with this field hold a match? The
 * end of the time range (`untilUs`) is tested where it also stops the read (planCurrent, sealCanMatch).
 */
const CAN_MATCH: { [F in keyof EntryFields]: (value: EntryFields[F], want: BlockWant) => boolean } = {
  seq: ([first, last], want) => last > want.afterSeq && first <= want.untilSeq,
  ts: ([, last], want) => want.sinceUs === undefined || parseMicros(last) >= want.sinceUs,
  types: (types, want) => want.types === undefined || types.some(want.types),
  agents: (agents, want) => want.agents === undefined || agents.some((a) => want.agents?.has(a)),
};

function entryCanMatch(entry: EntryFields, want: BlockWant): boolean {
  return (
    CAN_MATCH.seq(entry.seq, want) &&
    CAN_MATCH.ts(entry.ts, want) &&
    CAN_MATCH.types(entry.types, want) &&
    CAN_MATCH.agents(entry.agents, want)
  );
}

function sealCanMatch(seal: SealEntry, want: BlockWant): boolean {
  if (seal.count === 0) return false;
  if (want.untilUs !== undefined && parseMicros(seal.ts[0]) >= want.untilUs) return false;
  const types = want.types === undefined ? [] : Object.keys(seal.types);
  const agents = want.agents === undefined ? [] : Object.keys(seal.agents);
  return entryCanMatch({ seq: seal.seq, ts: seal.ts, types, agents }, want);
}

function wanted(block: BlockEntry, want: BlockWant): boolean {
  return entryCanMatch(block, want);
}

/**
 * The index is trusted only where it can be checked cheaply (format.md section 8): wherever a range
 * starts or stops inside the segment, the index's boundary must still be right after a newline and
 * before the line of the seq the index says comes next. Where a range stops matters as much as where
 * one starts: bytes inserted or removed before it (a line added by hand) move the indexed end into
 * the middle of a line, and reading up to it and then on from it would cut that line in two (a valid
 * event lost, two corrupt lines counted). No check is needed at 0 and at the end of the file, nor
 * between joined blocks: those bytes are read whole, whatever they hold.
 */
async function checkBoundaries(
  file: string,
  size: number,
  ranges: ReadRange[],
  blocks: BlockEntry[],
): Promise<string | undefined> {
  // The seq of the line each boundary comes before: a block's first, or the one after the last block.
  const seqAt = new Map(blocks.map((b) => [b.off[0], b.seq[0]]));
  const last = blocks.at(-1);
  if (last !== undefined) seqAt.set(last.off[1], last.seq[1] + 1);
  const boundaries = new Set(
    ranges.flatMap((r) => [r.from, r.to ?? size]).filter((at) => at > 0 && at < size),
  );
  const handle = await openRegular(file, 'r');
  try {
    for (const at of boundaries) {
      const seq = seqAt.get(at);
      if (seq === undefined || !(await boundaryAgrees(handle, at, seq))) {
        const name = path.basename(file);
        return at === last?.off[1]
          ? `the bytes after the last block (byte ${at} of ${name}) do not start with the line of seq ${seq}`
          : `block at byte ${at} of ${name} does not start with the line of seq ${seq ?? '?'}`;
      }
    }
  } finally {
    await handle.close();
  }
  return undefined;
}

/**
 * Whether the line at `at` starts right after a newline and is the record of `seq` (or its start, at
 * the end of the file: a line being written). A block can also start with corrupt lines, skipped
 * after the block before it filled (BlockBuilder): then the line before `at` must be that of `seq - 1`,
 * so that no line has moved across `at`. A record of another seq there means lines have moved.
 */
async function boundaryAgrees(handle: FileHandle, at: number, seq: number): Promise<boolean> {
  const probe = Buffer.alloc(32);
  const { bytesRead } = await handle.read(probe, 0, probe.length, at - 1);
  const text = probe.toString('latin1', 0, bytesRead);
  if (!text.startsWith('\n')) return false;
  const line = text.slice(1);
  const expected = `{"seq":${seq},`;
  if (line.startsWith(expected)) return true;
  if (bytesRead < probe.length && !line.includes('\n') && expected.startsWith(line)) return true;
  if (line.startsWith('{"seq":') || seq === 1) return false;
  return (await lineBefore(handle, at, 32)).startsWith(`{"seq":${seq - 1},`);
}

/** The first `length` bytes (or fewer) of the line that ends with the `\n` just before `at`. */
async function lineBefore(handle: FileHandle, at: number, length: number): Promise<string> {
  const window = Buffer.alloc(64 * 1024);
  // The line's start: after the newline before it, searched backwards a window at a time.
  let start = 0;
  for (let end = at - 1; end > 0; end -= window.length) {
    const from = Math.max(0, end - window.length);
    const { bytesRead } = await handle.read(window, 0, end - from, from);
    const newline = window.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline !== -1) {
      start = from + newline + 1;
      break;
    }
  }
  const head = Buffer.alloc(Math.min(length, at - 1 - start));
  const { bytesRead } = await handle.read(head, 0, head.length, start);
  return head.toString('latin1', 0, bytesRead);
}

/** The block-level parts of a filter: which event types and agents can match. */
export function blockWant(filter: EventFilter): Pick<BlockWant, 'types' | 'agents'> {
  return {
    types: kindMatcher(filter.kinds ?? []),
    agents: filter.agents?.length ? new Set(filter.agents) : undefined,
  };
}
