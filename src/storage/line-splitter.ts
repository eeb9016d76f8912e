import type { ReadStats } from './read-stats.js';

/**
 * The longest line a reader assembles: the writer never writes a longer one (its `maxLineBytes`,
 * format.md section 2, is capped to it). A longer line is damage: it is skipped and counted as
 * corrupt, its bytes dropped as they are read, never held (a gzip of a few KiB can inflate to one
 * line of gigabytes).
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Plain bytes read at a time: a piece pushed to a LineSplitter is at most this long. */
export const CHUNK = 256 * 1024;

/**
 * Cuts pieces of bytes into chunks of whole lines. The start of a line not yet ended is kept as a list
 * of pieces and joined once, when its `\n` arrives, so each byte is copied a bounded number of times
 * however long the line is (joining on every piece is quadratic). A line that passes MAX_LINE_BYTES is
 * let go: its bytes are dropped up to its `\n`, and then it is counted as corrupt. Pieces are at most
 * CHUNK bytes, so only the line that began in earlier pieces can pass the limit.
 */
export class LineSplitter {
  /** The line begun but not ended: copies of its pieces (none while it is being skipped). */
  private held: Buffer[] = [];
  private lineBytes = 0;
  private skipping = false;
  private taken = 0;
  /** Bytes taken in up to the `\n` of the last line returned or skipped. */
  consumed = 0;

  constructor(private readonly stats: ReadStats) {}

  /** Bytes of a line begun but not ended, held or being skipped. */
  get unfinished(): number {
    return this.lineBytes;
  }

  /**
   * The whole lines `piece` completes (with what earlier pieces began), ending in `\n`, or undefined.
   * The result may be a view of `piece`; what is held is copied, so the caller may reuse `piece`.
   */
  push(piece: Buffer): Buffer | undefined {
    const position = this.taken;
    this.taken += piece.length;
    const last = piece.lastIndexOf(0x0a);
    if (last === -1) {
      this.hold(piece);
      return undefined;
    }
    let start = 0;
    const first = piece.indexOf(0x0a);
    if (this.skipping || this.lineBytes + first > MAX_LINE_BYTES) {
      this.stats.corrupt++;
      this.held = [];
      this.skipping = false;
      start = first + 1;
    }
    const lines = piece.subarray(start, last + 1);
    const chunk = this.held.length === 0 ? lines : Buffer.concat([...this.held, lines]);
    this.held = [];
    this.lineBytes = 0;
    this.consumed = position + last + 1;
    this.hold(piece.subarray(last + 1));
    return chunk.length > 0 ? chunk : undefined;
  }

  private hold(rest: Buffer): void {
    this.lineBytes += rest.length;
    if (this.skipping || rest.length === 0) return;
    if (this.lineBytes > MAX_LINE_BYTES) {
      this.held = [];
      this.skipping = true;
    } else {
      this.held.push(Buffer.from(rest));
    }
  }
}

/** The lines of a chunk of whole lines (it ends with `\n`), without their `\n`. */
export function linesOf(chunk: Buffer): string[] {
  const lines: string[] = [];
  for (let start = 0, nl = chunk.indexOf(0x0a); nl !== -1; start = nl + 1, nl = chunk.indexOf(0x0a, start)) {
    lines.push(chunk.toString('utf8', start, nl));
  }
  return lines;
}
