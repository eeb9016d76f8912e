import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { isCompressed, readRangeRecords, type ReadStats } from '../storage/line-reader.js';
import { readManifest } from '../storage/manifest.js';
import { readSegmentIndex, scanSegmentIndex, type SealEntry } from '../storage/segment-index.js';

/** What prune needs to know of a segment: from its seal, or for the active one, as a seal would say. */
export interface SegmentSummary {
  /** Read from a seal in its index, not worked out. */
  sealed: boolean;
  count: number;
  seq: [number, number];
  ts: [string, string];
  lastHash: string;
}

/**
 * From the seal where the index has one; for the active segment from its index blocks plus its last
 * block and unindexed tail, which are read; else by reading the whole segment (format.md section 8).
 */
export async function summarize(file: string, size: number): Promise<SegmentSummary> {
  const read = await readSegmentIndex(file, size);
  const fromSeal = (seal: SealEntry, sealed = true): SegmentSummary => ({
    sealed,
    count: seal.count,
    seq: seal.seq,
    ts: seal.ts,
    lastHash: seal.last_hash,
  });
  if ('index' in read && read.index.seal !== undefined) return fromSeal(read.index.seal);
  const blocks = 'index' in read && !isCompressed(file) ? read.index.blocks : [];
  const first = blocks[0];
  const lastBlock = blocks.at(-1);
  if (first === undefined || lastBlock === undefined) {
    return fromSeal((await scanSegmentIndex(file, { seal: true })).seal as SealEntry, false);
  }
  const manifest = await readManifest(path.dirname(file));
  const tail = await lastRecordsFrom(file, lastBlock.off[0], chainOf(manifest ?? { job_id: '?' }));
  return {
    sealed: false,
    count: blocks.slice(0, -1).reduce((n, b) => n + b.lines[1], 0) + tail.count,
    seq: [first.seq[0], tail.lastSeq ?? lastBlock.seq[1]],
    ts: [first.ts[0], tail.lastTs ?? lastBlock.ts[1]],
    lastHash: tail.lastHash ?? '',
  };
}

async function lastRecordsFrom(file: string, from: number, chain: Chain) {
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  let count = 0;
  let last: { seq: number; ts: string; line: string } | undefined;
  for await (const { record, line } of readRangeRecords({ file, from }, stats)) {
    count++;
    last = { seq: record.seq, ts: record.ts, line };
  }
  return {
    count,
    lastSeq: last?.seq,
    lastTs: last?.ts,
    lastHash: last === undefined ? undefined : chain.hash(last.line),
  };
}
