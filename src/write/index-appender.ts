import fs from 'node:fs';
import { openRegularSync } from '../storage/fsutil.js';
import {
  appendIndexEntriesSync,
  BlockBuilder,
  indexFileOf,
  readSegmentIndex,
  scanSegmentIndex,
  writeSegmentIndex,
  type BlockEntry,
} from '../storage/segment-index.js';
import type { EventRecord } from '../format/schema/envelope.js';

/**
 * The `.idx` of a writer's active segment, kept up to date as batches are written: a block entry is
 * appended each time a block fills, so the index lags the segment by at most one block. It is derived
 * data: it is not synced, and a failure to write it stops the appender (a reader then scans, and the
 * next open rebuilds it) without failing any append.
 */
export class IndexAppender {
  private fd: number | undefined;
  private broken = false;

  private constructor(
    private readonly indexFile: string,
    private readonly builder: BlockBuilder,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** For a new, empty segment. */
  static forNewSegment(
    segmentFile: string,
    blockBytes: number,
    onError: (error: unknown) => void,
  ): IndexAppender {
    return new IndexAppender(indexFileOf(segmentFile), new BlockBuilder(0, 0, 0, blockBytes), onError);
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
    );
  }

  /** Notes lines just written (each with its `\n`). */
  add(lines: { record: EventRecord; bytes: number }[]): void {
    if (this.broken) return;
    const full: BlockEntry[] = [];
    for (const { record, bytes } of lines) {
      const block = this.builder.add(record, bytes);
      if (block !== undefined) full.push(block);
    }
    if (full.length > 0) this.append(full);
  }

  /** Writes the block in progress and closes the file (the segment is being sealed or closed). */
  close(): void {
    const last = this.builder.finish();
    if (last !== undefined && !this.broken) this.append([last]);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
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
