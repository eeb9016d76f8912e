import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { readManifest } from './manifest.js';
import { DataError } from '../format/errors.js';
import { openRegular, readRegularFile, writeFileAtomic } from './fsutil.js';
import { isCompressed, rangeChunks, type ReadStats } from './line-reader.js';
import { parseRecord } from '../format/record.js';
import { IndexDerivation, type DerivationOptions } from './index-builders.js';

export { BlockBuilder } from './index-builders.js';
import {
  CHECKED_BLOCK_FIELDS,
  CHECKED_SEAL_FIELDS,
  DEFAULT_BLOCK_BYTES,
  isBlockEntry,
  isSealEntry,
  type BlockEntry,
  type SealEntry,
  type SegmentIndex,
} from '../format/index-entries.js';

export {
  DEFAULT_BLOCK_BYTES,
  type BlockEntry,
  type SealEntry,
  type SegmentIndex,
} from '../format/index-entries.js';
import { indexFileOf } from '../format/paths.js';

/**
 * The `.idx` sidecar of a segment (format.md section 8): JSONL, one entry per block of whole lines
 * (about `DEFAULT_BLOCK_BYTES`), then a seal entry once the segment is sealed. It is derived data: a
 * reader checks it against the segment and falls back to scanning when it disagrees.
 */
export { indexFileOf } from '../format/paths.js';

/** Reads a segment and derives its index: blocks, and a seal entry when `seal` is asked for. */
export async function scanSegmentIndex(
  file: string,
  options: DerivationOptions & {
    seal: boolean;
    /** The log's chain, for the seal's last hash (default: from the LOG.json beside the segment). */
    chain?: Chain;
  },
): Promise<SegmentIndex & { stats: ReadStats; end: number; lines: number }> {
  const from = options.from ?? { block: 0, offset: 0, line: 0 };
  const derived = new IndexDerivation(options);
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  const sha = crypto.createHash('sha256');
  const chain = options.seal ? (options.chain ?? (await chainOfSegment(file))) : undefined;
  // Only the last line's hash goes in the seal: the line is kept, and hashed once at the end.
  let lastLine = '';
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
        derived.corrupt(nl + 1 - start);
        continue;
      }
      derived.record(record, nl + 1 - start);
      lastLine = line;
    }
  }
  const { blocks, end, lines } = derived.finish();
  const seal =
    chain !== undefined && from.offset === 0
      ? derived.sealEntry(sha.digest('hex'), lastLine === '' ? '' : chain.hash(lastLine))
      : undefined;
  return { blocks, seal, stats, end, lines };
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
    if (isBlockEntry(value)) blocks.push(value);
    else if (isSealEntry(value)) seal = value;
    else return { problem: `line ${i + 1} is not an index entry` };
  }
  const compressed = isCompressed(segmentFile);
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
  const actual = await scanSegmentIndex(segmentFile, {
    seal: read.index.seal !== undefined,
    ...comparableTo(read.index),
  });
  return indexDisagreement(read.index, actual);
}

/** A derivation that ends its blocks where `index` does, so that each can be compared with its own. */
export function comparableTo(index: SegmentIndex): DerivationOptions {
  return { blockBytes: Number.MAX_SAFE_INTEGER, cuts: index.blocks.map((b) => b.off[1]) };
}

/** The first field where `index` disagrees with `actual` (derived from the segment), or undefined. */
export function indexDisagreement(index: SegmentIndex, actual: SegmentIndex): string | undefined {
  const { blocks, seal } = index;
  for (const [i, block] of blocks.entries()) {
    const real = actual.blocks[i];
    const wrong = CHECKED_BLOCK_FIELDS.find((f) => JSON.stringify(block[f]) !== JSON.stringify(real?.[f]));
    if (wrong !== undefined)
      return `block ${i}: ${wrong} is ${JSON.stringify(block[wrong])}, the segment says ${JSON.stringify(real?.[wrong])}`;
  }
  if (seal !== undefined) {
    const real = actual.seal as SealEntry;
    const wrong = CHECKED_SEAL_FIELDS.find((f) => JSON.stringify(seal[f]) !== JSON.stringify(real[f]));
    if (wrong !== undefined)
      return `seal: ${wrong} is ${JSON.stringify(seal[wrong])}, the segment says ${JSON.stringify(real[wrong])}`;
  }
  return undefined;
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
    const seal: unknown = JSON.parse(sealLine);
    if (!isSealEntry(seal) || !isBlockEntry(lastBlock) || lastBlock.off[1] !== seal.bytes) return undefined;
    const ends = isCompressed(segmentFile) ? lastBlock.gz?.[1] : lastBlock.off[1];
    return ends === fileBytes ? { seal, lastBlock } : undefined;
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
