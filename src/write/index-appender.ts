import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Chain } from '../format/chain.js';
import { openRegularSync } from '../storage/fsutil.js';
import {
  appendIndexEntriesSync,
  BlockBuilder,
  indexFileOf,
  readSegmentIndex,
  scanSegmentIndex,
  writeSegmentIndex,
  type BlockEntry,
  type SegmentIndex,
} from '../storage/segment-index.js';
import { SealBuilder } from '../storage/index-builders.js';
import type { Formed } from './former.js';

/**
 * What a writer knows of a segment it has written from its first byte: every block, the seal's counts,
 * the SHA-256 of the bytes and the last line. Sealing it then reads nothing back (format.md section 8).
 */
interface WholeSegment {
  blocks: BlockEntry[];
  seal: SealBuilder;
  sha: crypto.Hash;
  lastLine: string | undefined;
}

/**
 * The `.idx` of a writer's active segment, kept up to date as batches are written: a block entry is
 * appended each time a block fills, so the index lags the segment by at most one block. It is derived
 * data: it is not synced, and a failure to write it stops the appender (a reader then scans, and the
 * next open rebuilds it) without failing any append.
 */
export class IndexAppender {
  private fd: number | undefined;
  private broken = false;
  /** Undefined for a segment reopened with lines written before: its seal needs a scan. */
  private whole: WholeSegment | undefined;

  private constructor(
    private readonly indexFile: string,
    private readonly builder: BlockBuilder,
    private readonly onError: (error: unknown) => void,
    fromStart: boolean,
  ) {
    this.whole = fromStart
      ? { blocks: [], seal: new SealBuilder(), sha: crypto.createHash('sha256'), lastLine: undefined }
      : undefined;
  }

  /** For a new, empty segment. */
  static forNewSegment(
    segmentFile: string,
    blockBytes: number,
    onError: (error: unknown) => void,
  ): IndexAppender {
    return new IndexAppender(indexFileOf(segmentFile), new BlockBuilder(0, 0, 0, blockBytes), onError, true);
  }

  /**
   * For a segment reopened at `size` bytes: keeps the index entries that agree with it, indexes the
   * rest by reading it, and rewrites the file whole (dropping a half-written last entry).
   */
  static async reopen(
    segmentFile: string,
    size: number,
    blockBytes: number,
    onError: (error: unknown) => void,
  ): Promise<IndexAppender> {
    const existing = await readSegmentIndex(segmentFile, size);
    let blocks: BlockEntry[] =
      'index' in existing && existing.index.seal === undefined ? existing.index.blocks : [];
    const last = blocks.at(-1);
    const from = {
      block: blocks.length,
      offset: last?.off[1] ?? 0,
      line: last === undefined ? 0 : last.lines[0] + last.lines[1],
    };
    let lines = from.line;
    if (from.offset < size) {
      const rest = await scanSegmentIndex(segmentFile, { seal: false, blockBytes, from });
      blocks = [...blocks, ...rest.blocks];
      lines = rest.lines;
    }
    await writeSegmentIndex(segmentFile, { blocks, seal: undefined });
    return new IndexAppender(
      indexFileOf(segmentFile),
      new BlockBuilder(blocks.length, size, lines, blockBytes),
      onError,
      size === 0,
    );
  }

  /** Notes a batch just written: its lines (each with its `\n`) and the bytes they were written as. */
  add(batch: readonly Formed[], written: Buffer): void {
    const full: BlockEntry[] = [];
    for (const { record, bytes } of batch) {
      const block = this.builder.add(record, bytes);
      if (block !== undefined) full.push(block);
      this.whole?.seal.add(record);
    }
    if (this.whole !== undefined) {
      this.whole.blocks.push(...full);
      this.whole.sha.update(written);
      this.whole.lastLine = batch.at(-1)?.line ?? this.whole.lastLine;
    }
    if (full.length > 0 && !this.broken) this.append(full);
  }

  /**
   * Writes the block in progress and closes the file (the segment is being sealed or closed). Returns
   * the segment's sealed index when this appender saw it whole, else undefined (a scan must seal it).
   */
  close(chain: Chain): SegmentIndex | undefined {
    const last = this.builder.finish();
    if (last !== undefined && !this.broken) this.append([last]);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    const whole = this.whole;
    this.whole = undefined;
    if (whole === undefined) return undefined;
    if (last !== undefined) whole.blocks.push(last);
    // The line was written with its `\n`; its hash is of the line without it (format.md section 5).
    const lastHash = whole.lastLine === undefined ? '' : chain.hash(whole.lastLine.slice(0, -1));
    return {
      blocks: whole.blocks,
      seal: whole.seal.entry(whole.sha.digest('hex'), this.builder.end, lastHash),
    };
  }

  private append(entries: BlockEntry[]): void {
    try {
      this.fd ??= openRegularSync(this.indexFile, 'a');
      appendIndexEntriesSync(this.fd, entries);
    } catch (err) {
      this.broken = true;
      this.onError(err);
    }
  }
}
