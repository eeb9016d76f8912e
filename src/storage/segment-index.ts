import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { chainOf, type Chain } from '../format/chain.js';
import { readManifest } from './manifest.js';
import { DataError } from '../format/errors.js';
import { openRegular, readRegularFile, writeFileAtomic } from './fsutil.js';
import { isCompressed, rangeChunks, type ReadStats } from './line-reader.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';

/**
 * The `.idx` sidecar of a segment (format.md section 8): JSONL, one entry per block of whole lines
 * (about `DEFAULT_BLOCK_BYTES`), then a seal entry once the segment is sealed. It is derived data: a
 * reader checks it against the segment and falls back to scanning when it disagrees.
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

export interface SegmentIndex {
  blocks: BlockEntry[];
  seal: SealEntry | undefined;
}

/** The `.idx` path of a segment (`.jsonl` or `.jsonl.gz`). */
export function indexFileOf(segmentFile: string): string {
  return segmentFile.replace(/\.jsonl(\.gz)?$/, '.idx');
}

/** Accumulates whole lines into block entries, as a writer appends them or a scan reads them. */
export class BlockBuilder {
  private current: BlockEntry | undefined;
  /** Where skipped (corrupt) lines before the next block began: the block will start there. */
  private gapStart: { offset: number; line: number } | undefined;
  private readonly typeSet = new Set<string>();
  private readonly agentSet = new Set<string>();

  constructor(
    private nextBlock: number,
    /** Byte offset and line number where the next line starts. */
    private offset: number,
    private line: number,
    private readonly blockBytes = DEFAULT_BLOCK_BYTES,
  ) {}

  /** Adds one line (its record and its length in bytes with `\n`); returns a block when one is full. */
  add(
    record: Pick<EventRecord, 'seq' | 'ts' | 'event_type' | 'agent_id'>,
    bytes: number,
  ): BlockEntry | undefined {
    const start = this.gapStart ?? { offset: this.offset, line: this.line };
    this.gapStart = undefined;
    const block = (this.current ??= {
      block: this.nextBlock,
      seq: [record.seq, record.seq],
      lines: [start.line, this.line - start.line],
      off: [start.offset, this.offset],
      ts: [record.ts, record.ts],
      types: [],
      agents: [],
    });
    block.seq[1] = record.seq;
    block.lines[1]++;
    this.offset += bytes;
    this.line++;
    block.off[1] = this.offset;
    block.ts[1] = record.ts;
    this.typeSet.add(record.event_type);
    if (record.agent_id !== undefined) this.agentSet.add(record.agent_id);
    return block.off[1] - block.off[0] >= this.blockBytes ? this.finish() : undefined;
  }

  /** Skips bytes that are not a record (a corrupt line): they stay inside the current block's range. */
  skip(bytes: number): void {
    if (this.current === undefined) this.gapStart ??= { offset: this.offset, line: this.line };
    this.offset += bytes;
    this.line++;
    if (this.current !== undefined) {
      this.current.off[1] = this.offset;
      this.current.lines[1]++;
    }
  }

  /** The block in progress, if any, closed now. */
  finish(): BlockEntry | undefined {
    const block = this.current;
    if (block === undefined) return undefined;
    block.types = [...this.typeSet].sort();
    block.agents = [...this.agentSet].sort();
    this.typeSet.clear();
    this.agentSet.clear();
    this.current = undefined;
    this.nextBlock++;
    return block;
  }

  /** Where the next block would start: the end of what is indexed so far. */
  get indexedEnd(): number {
    return this.current?.off[0] ?? this.gapStart?.offset ?? this.offset;
  }

  /** The next line's number. */
  get nextLine(): number {
    return this.line;
  }

  /** The offset after the last line added or skipped. */
  get end(): number {
    return this.offset;
  }
}

/** Reads a segment and derives its index: blocks, and a seal entry when `seal` is asked for. */
export async function scanSegmentIndex(
  file: string,
  options: {
    seal: boolean;
    blockBytes?: number;
    from?: { block: number; offset: number; line: number };
    /** End blocks exactly at these offsets (to compare with an existing index). */
    cuts?: number[];
    /** The log's chain, for the seal's last hash (default: from the LOG.json beside the segment). */
    chain?: Chain;
  },
): Promise<SegmentIndex & { stats: ReadStats; end: number; lines: number }> {
  const from = options.from ?? { block: 0, offset: 0, line: 0 };
  const builder = new BlockBuilder(from.block, from.offset, from.line, options.blockBytes);
  const blocks: BlockEntry[] = [];
  const cuts = new Set(options.cuts);
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  const sha = crypto.createHash('sha256');
  const seal = new SealBuilder(options.seal ? (options.chain ?? (await chainOfSegment(file))) : undefined);
  const range = isCompressed(file) ? { file, from: 0 } : { file, from: from.offset };
  for await (const chunk of rangeChunks(range, stats)) {
    sha.update(chunk);
    for (
      let start = 0, nl = chunk.indexOf(0x0a);
      nl !== -1;
      start = nl + 1, nl = chunk.indexOf(0x0a, start)
    ) {
      const line = chunk.toString('utf8', start, nl);
      const record = parseRecord(line);
      if (record === undefined) {
        stats.corrupt++;
        builder.skip(nl + 1 - start);
        continue;
      }
      seal.add(record, line);
      const block = builder.add(record, nl + 1 - start);
      if (block !== undefined) blocks.push(block);
      else if (cuts.has(builder.end)) blocks.push(builder.finish() as BlockEntry);
    }
  }
  const last = builder.finish();
  if (last !== undefined) blocks.push(last);
  // Corrupt lines at the very end belong to the last block, so the blocks cover the whole segment.
  const tail = blocks.at(-1);
  if (tail !== undefined && tail.off[1] < builder.end) {
    tail.lines[1] += builder.nextLine - (tail.lines[0] + tail.lines[1]);
    tail.off[1] = builder.end;
  }
  const end = builder.end;
  const sealEntry = options.seal && from.offset === 0 ? seal.entry(sha.digest('hex'), end) : undefined;
  return { blocks, seal: sealEntry, stats, end, lines: builder.nextLine };
}

/** The counts of a seal entry, accumulated line by line. */
class SealBuilder {
  constructor(private readonly chain: Chain | undefined) {}

  private count = 0;
  private first: EventRecord | undefined;
  private last: EventRecord | undefined;
  private lastHash = '';
  private readonly types: Record<string, number> = {};
  private readonly agents: Record<string, number> = {};

  add(record: EventRecord, line: string): void {
    this.count++;
    this.first ??= record;
    this.last = record;
    if (this.chain !== undefined) this.lastHash = this.chain.hash(line);
    this.types[record.event_type] = (this.types[record.event_type] ?? 0) + 1;
    if (record.agent_id !== undefined) this.agents[record.agent_id] = (this.agents[record.agent_id] ?? 0) + 1;
  }

  entry(sha256: string, bytes: number): SealEntry {
    return {
      seal: true,
      count: this.count,
      seq: [this.first?.seq ?? 0, this.last?.seq ?? 0],
      ts: [this.first?.ts ?? '', this.last?.ts ?? ''],
      bytes,
      sha256,
      last_hash: this.lastHash,
      types: this.types,
      agents: this.agents,
    };
  }
}

/**
 * The index of a segment if it exists and agrees with the segment's size: blocks contiguous from 0,
 * seqs increasing, nothing past the end of the file, and a seal (if any) covering the whole file. A
 * compressed segment's index must be sealed and give every block's gzip member, contiguous to the end
 * of the `.gz`. Otherwise the reason: the caller scans instead.
 */
export async function readSegmentIndex(
  segmentFile: string,
  fileBytes: number,
): Promise<{ index: SegmentIndex } | { problem: string }> {
  let text: string;
  try {
    text = await readRegularFile(indexFileOf(segmentFile));
  } catch (err) {
    // A FIFO or directory in its place is damage, named; readers scan the segment instead.
    return { problem: err instanceof DataError ? err.message : 'no index' };
  }
  const blocks: BlockEntry[] = [];
  let seal: SealEntry | undefined;
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    if (seal !== undefined) return { problem: `an entry after the seal (line ${i + 1})` };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // A last line cut off by a crash: the blocks before it are still good.
      if (i === lines.length - 1) break;
      return { problem: `line ${i + 1} is not JSON` };
    }
    // Blocks are many: checked by hand (as zod would, for the fields readers use); the seal by zod.
    if (isBlockEntry(value)) blocks.push(value);
    else {
      const asSeal = sealEntrySchema.safeParse(value);
      if (!asSeal.success) return { problem: `line ${i + 1} is not an index entry` };
      seal = asSeal.data;
    }
  }
  const compressed = segmentFile.endsWith('.gz');
  if (compressed && seal === undefined) return { problem: 'a compressed segment without a seal' };
  const plainBytes = compressed ? (seal?.bytes ?? 0) : fileBytes;
  for (const [i, block] of blocks.entries()) {
    const previous = blocks[i - 1];
    if (block.block !== i || block.off[0] !== (previous?.off[1] ?? 0) || block.off[1] <= block.off[0]) {
      return { problem: `block ${i} does not follow the one before it` };
    }
    if (block.off[1] > plainBytes) return { problem: `block ${i} ends past the end of the segment` };
    if (previous !== undefined && block.seq[0] !== previous.seq[1] + 1) {
      return { problem: `block ${i} does not continue the seq of the one before it` };
    }
    if (compressed && (block.gz?.[0] !== (previous?.gz?.[1] ?? 0) || (block.gz[1] ?? 0) <= block.gz[0])) {
      return { problem: `block ${i} has no gzip member after the one before it` };
    }
  }
  if (seal !== undefined && (seal.bytes !== plainBytes || (blocks.at(-1)?.off[1] ?? 0) !== plainBytes)) {
    return { problem: 'the seal does not cover the segment' };
  }
  if (compressed && blocks.at(-1)?.gz?.[1] !== fileBytes)
    return { problem: 'the gzip members do not cover the file' };
  return { index: { blocks, seal } };
}

/** Writes a whole index atomically (a rebuild). */
export async function writeSegmentIndex(segmentFile: string, index: SegmentIndex): Promise<void> {
  const entries = [...index.blocks, ...(index.seal === undefined ? [] : [index.seal])];
  await writeFileAtomic(indexFileOf(segmentFile), entries.map((e) => JSON.stringify(e) + '\n').join(''));
}

/** Appends entries to the index of the active segment (a writer's sidecar; not synced: it is derived). */
export function appendIndexEntriesSync(fd: number, entries: (BlockEntry | SealEntry)[]): void {
  const text = entries.map((e) => JSON.stringify(e) + '\n').join('');
  fs.writeSync(fd, text);
}

/**
 * Seals a segment that will not grow again: reads it whole and writes its index with the seal entry
 * (count, seq and time range, counts by type and agent, SHA-256 of the bytes, the last line's hash).
 */
export async function sealSegment(
  segmentFile: string,
  blockBytes = DEFAULT_BLOCK_BYTES,
  chain?: Chain,
): Promise<SealEntry> {
  const scan = await scanSegmentIndex(segmentFile, { seal: true, blockBytes, chain });
  const seal = scan.seal as SealEntry;
  await writeSegmentIndex(segmentFile, { blocks: scan.blocks, seal });
  return seal;
}

/**
 * Checks an index against its segment line by line: each block's lines, seqs, times, event types and
 * agents, and the seal's counts and hashes. Returns the first disagreement, or undefined.
 */
export async function checkSegmentIndex(segmentFile: string): Promise<string | undefined> {
  const size = (await fsp.stat(segmentFile)).size;
  const read = await readSegmentIndex(segmentFile, size);
  if ('problem' in read) return read.problem;
  const { blocks, seal } = read.index;
  const actual = await scanSegmentIndex(segmentFile, {
    seal: seal !== undefined,
    blockBytes: Number.MAX_SAFE_INTEGER,
    cuts: blocks.map((b) => b.off[1]),
  });
  for (const [i, block] of blocks.entries()) {
    const real = actual.blocks[i];
    const fields = ['seq', 'lines', 'off', 'ts', 'types', 'agents'] as const;
    const wrong = fields.find((f) => JSON.stringify(block[f]) !== JSON.stringify(real?.[f]));
    if (wrong !== undefined)
      return `block ${i}: ${wrong} is ${JSON.stringify(block[wrong])}, the segment says ${JSON.stringify(real?.[wrong])}`;
  }
  if (seal !== undefined) {
    const real = actual.seal as SealEntry;
    const fields = ['count', 'seq', 'ts', 'bytes', 'sha256', 'last_hash', 'types', 'agents'] as const;
    const wrong = fields.find((f) => JSON.stringify(seal[f]) !== JSON.stringify(real[f]));
    if (wrong !== undefined)
      return `seal: ${wrong} is ${JSON.stringify(seal[wrong])}, the segment says ${JSON.stringify(real[wrong])}`;
  }
  return undefined;
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

/** blockEntrySchema, checked without zod: an index has one entry per 128 KiB of log. */
function isBlockEntry(value: unknown): value is BlockEntry {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Record<string, unknown>;
  const known = ['block', 'seq', 'lines', 'off', 'gz', 'ts', 'types', 'agents'];
  return (
    Object.keys(b).every((k) => known.includes(k)) &&
    Number.isSafeInteger(b.block) &&
    (b.block as number) >= 0 &&
    isRange(b.seq) &&
    isRange(b.lines) &&
    isRange(b.off) &&
    (b.gz === undefined || isRange(b.gz)) &&
    isStrings(b.ts) &&
    b.ts.length === 2 &&
    isStrings(b.types) &&
    isStrings(b.agents)
  );
}

/**
 * The seal and last block of an index, from the end of its file alone, when they agree with the
 * segment's size: enough to skip a whole sealed segment without reading its blocks.
 */
export async function readIndexTail(
  segmentFile: string,
  fileBytes: number,
): Promise<{ seal: SealEntry; lastBlock: BlockEntry } | undefined> {
  let handle: fsp.FileHandle;
  try {
    handle = await openRegular(indexFileOf(segmentFile), 'r');
  } catch {
    return undefined;
  }
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter(Boolean);
    const [blockLine, sealLine] = lines.slice(-2);
    if (lines.length < 2 || blockLine === undefined || sealLine === undefined) return undefined;
    const lastBlock: unknown = JSON.parse(blockLine);
    const seal = sealEntrySchema.safeParse(JSON.parse(sealLine));
    if (!seal.success || !isBlockEntry(lastBlock) || lastBlock.off[1] !== seal.data.bytes) return undefined;
    const ends = segmentFile.endsWith('.gz') ? lastBlock.gz?.[1] : lastBlock.off[1];
    return ends === fileBytes ? { seal: seal.data, lastBlock } : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/** The chain of the log a segment belongs to, from the LOG.json beside it. */
async function chainOfSegment(segmentFile: string): Promise<Chain> {
  const manifest = await readManifest(path.dirname(segmentFile));
  return manifest === undefined ? chainOf({ job_id: '?' }) : chainOf(manifest);
}
