import { parseMicros } from '../format/clock.js';
import { rangeChunks, type ReadRange, type ReadStats } from '../storage/line-reader.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';

/** What `take()` returns when its chunk is used up: `await fill()`, then take again. */
export const NEED_MORE = Symbol('need more');

export interface SourceEvent {
  record: EventRecord;
  line: string;
  tsUs: number;
  /** Where it came from: the merge asks it for the next one. */
  source: StreamSource;
}

/**
 * The records of one stream (its segments in order), a chunk of lines at a time, so that the merge
 * takes the next record synchronously and awaits only once per chunk. Lines that a prefilter rules out
 * are not parsed; their seq is still noted, so the cursor can move past them.
 */
export class StreamSource {
  /** The highest seq read in this stream, matched or not. */
  lastSeq: number;
  /** The seq of the last valid line read. */
  private previousSeq: number | undefined;
  /** The chunk being read (valid until the next fill) and where its next line starts. */
  private chunk: Buffer = Buffer.alloc(0);
  private position = 0;
  private done = false;
  private readonly chunks: AsyncGenerator<Buffer>;

  constructor(
    readonly job: string,
    readonly stream: string,
    ranges: ReadRange[],
    private readonly afterSeq: number,
    private readonly untilSeq: number,
    private readonly stats: ReadStats,
    private readonly prefilter: ((line: string) => boolean) | undefined,
  ) {
    this.lastSeq = afterSeq;
    this.chunks = chunksOf(ranges, stats);
  }

  /** The next record after `afterSeq` (and up to `untilSeq`), NEED_MORE, or undefined at the end. */
  take(): SourceEvent | undefined | typeof NEED_MORE {
    while (this.position < this.chunk.length) {
      // Lines are decoded one at a time, when taken: a chunk's worth of strings is never held.
      const newline = this.chunk.indexOf(0x0a, this.position);
      const line = this.chunk.toString('utf8', this.position, newline);
      this.position = newline + 1;
      if (this.prefilter !== undefined && !this.prefilter(line)) {
        // Trusted unparsed only when it looks whole and continues the stream's seq; else parsed.
        let seq = canonicalSeq(line);
        if (seq === undefined || seq !== (this.previousSeq ?? seq - 1) + 1 || !canonicalEnd(line)) {
          seq = parseRecord(line)?.seq;
        }
        if (seq === undefined) this.stats.corrupt++;
        else if (seq > this.untilSeq) return this.end();
        else {
          this.previousSeq = seq;
          if (seq > this.lastSeq) this.lastSeq = seq;
        }
        continue;
      }
      const record = parseRecord(line);
      if (record === undefined) {
        this.stats.corrupt++;
        continue;
      }
      this.previousSeq = record.seq;
      if (record.seq > this.untilSeq) return this.end();
      if (record.seq <= this.afterSeq) continue;
      if (record.seq > this.lastSeq) this.lastSeq = record.seq;
      return { record, line, tsUs: parseMicros(record.ts), source: this };
    }
    return this.done ? undefined : NEED_MORE;
  }

  async fill(): Promise<void> {
    const next = await this.chunks.next();
    if (next.done === true) this.done = true;
    else {
      this.chunk = next.value;
      this.position = 0;
    }
  }

  async close(): Promise<void> {
    await this.chunks.return(undefined);
  }

  private end(): undefined {
    this.chunk = Buffer.alloc(0);
    this.done = true;
    return undefined;
  }
}

async function* chunksOf(ranges: ReadRange[], stats: ReadStats): AsyncGenerator<Buffer> {
  for (const range of ranges) yield* rangeChunks(range, stats);
}

/** The seq of a line as the writer serialises it (`{"seq":123,...`), without parsing the rest. */
function canonicalSeq(line: string): number | undefined {
  if (!line.startsWith('{"seq":')) return undefined;
  let seq = 0;
  for (let i = 7; i < line.length && i < 24; i++) {
    const digit = line.charCodeAt(i) - 48;
    if (digit >= 0 && digit <= 9) seq = seq * 10 + digit;
    else return line.charCodeAt(i) === 44 && i > 7 ? seq : undefined; // ','
  }
  return undefined;
}

/** Ends as the writer ends a line: `,"prev":"<32 hex>"}`. */
function canonicalEnd(line: string): boolean {
  return line.length > 45 && line.endsWith('"}') && line.startsWith(',"prev":"', line.length - 43);
}
