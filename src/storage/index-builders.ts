import { DEFAULT_BLOCK_BYTES, type BlockEntry, type SealEntry } from '../format/index-entries.js';
import type { EventRecord } from '../format/schema/envelope.js';

/** What a segment's index is built from, line by line (format.md section 8): its blocks and its seal. */

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
  add(record: IndexedFields, bytes: number): BlockEntry | undefined {
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

/** The fields of a record that an index entry is built from. */
export type IndexedFields = Pick<EventRecord, 'seq' | 'ts' | 'event_type' | 'agent_id'>;

/**
 * The counts of a seal entry, accumulated line by line. The last line's hash is the caller's: a scan
 * hashes the last line it read, a writer knows the `prev` its next line would carry.
 */
export class SealBuilder {
  private count = 0;
  private seq: [number, number] = [0, 0];
  private ts: [string, string] = ['', ''];
  private readonly types: Record<string, number> = {};
  private readonly agents: Record<string, number> = {};

  add(record: IndexedFields): void {
    if (this.count++ === 0) {
      this.seq = [record.seq, record.seq];
      this.ts = [record.ts, record.ts];
    }
    this.seq[1] = record.seq;
    this.ts[1] = record.ts;
    this.types[record.event_type] = (this.types[record.event_type] ?? 0) + 1;
    if (record.agent_id !== undefined) this.agents[record.agent_id] = (this.agents[record.agent_id] ?? 0) + 1;
  }

  entry(sha256: string, bytes: number, lastHash: string): SealEntry {
    return {
      seal: true,
      count: this.count,
      seq: this.seq,
      ts: this.ts,
      bytes,
      sha256,
      last_hash: lastHash,
      types: this.types,
      agents: this.agents,
    };
  }
}

/** Where a derivation starts (a segment's first line by default), and where it ends its blocks. */
export interface DerivationOptions {
  from?: { block: number; offset: number; line: number };
  /** Default DEFAULT_BLOCK_BYTES. */
  blockBytes?: number;
  /** End blocks exactly at these offsets (to compare with an existing index). */
  cuts?: readonly number[];
}

/**
 * A segment's index derived from its lines, one at a time (format.md section 8): what a scan of the
 * segment builds, and what verify builds from the lines it walks anyway, to compare with the `.idx`
 * without reading the segment a second time.
 */
export class IndexDerivation {
  private readonly blocks: BlockEntry[] = [];
  private readonly builder: BlockBuilder;
  private readonly seal = new SealBuilder();
  private readonly cuts: Set<number>;

  constructor(options: DerivationOptions = {}) {
    const from = options.from ?? { block: 0, offset: 0, line: 0 };
    this.builder = new BlockBuilder(from.block, from.offset, from.line, options.blockBytes);
    this.cuts = new Set(options.cuts);
  }

  /** A line that is not a record: it stays inside the block around it. `bytes` counts its `\n`. */
  corrupt(bytes: number): void {
    this.builder.skip(bytes);
  }

  /** A record's line; `bytes` counts its `\n`. */
  record(record: IndexedFields, bytes: number): void {
    this.seal.add(record);
    const block = this.builder.add(record, bytes);
    if (block !== undefined) this.blocks.push(block);
    else if (this.cuts.has(this.builder.end)) this.blocks.push(this.builder.finish() as BlockEntry);
  }

  /** Closes the last block; corrupt lines at the very end belong to it, so the blocks cover the segment. */
  finish(): { blocks: BlockEntry[]; end: number; lines: number } {
    const last = this.builder.finish();
    if (last !== undefined) this.blocks.push(last);
    const tail = this.blocks.at(-1);
    if (tail !== undefined && tail.off[1] < this.builder.end) {
      tail.lines[1] += this.builder.nextLine - (tail.lines[0] + tail.lines[1]);
      tail.off[1] = this.builder.end;
    }
    return { blocks: this.blocks, end: this.builder.end, lines: this.builder.nextLine };
  }

  /** The seal of the lines seen: the SHA-256 of their bytes, and the chain hash of the last record's line. */
  sealEntry(sha256: string, lastHash: string): SealEntry {
    return this.seal.entry(sha256, this.builder.end, lastHash);
  }
}
