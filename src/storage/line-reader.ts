import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { errnoCode } from '../format/errors.js';
import { openRegular } from './fsutil.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';

/** What a read skipped: corrupt lines are counted; a torn last line is "not yet written". */
export interface ReadStats {
  corrupt: number;
  /** The file ended in a line without `\n` (a write in progress, or a crash): not counted as corrupt. */
  tornTail: boolean;
  /** Segment indexes that disagreed with their segment (which was scanned instead). */
  indexProblems?: string[];
  /** Compressed segments that could not be read to their end (a corrupt or truncated gzip). */
  damaged?: string[];
  /** Why the whole job was not read (a job directory without its LOG.json). */
  skipped?: string;
  /** Bytes read from disk (compressed bytes for a `.gz`): what a query cost. */
  bytesRead?: number;
}

export interface ReadLine {
  record: EventRecord;
  /** The line as read, without `\n`. */
  line: string;
}

/**
 * The longest line a reader assembles: the writer never writes a longer one (its `maxLineBytes`,
 * format.md section 2, is capped to it). A longer line is damage: it is skipped and counted as
 * corrupt, its bytes dropped as they are read, never held (a gzip of a few KiB can inflate to one
 * line of gigabytes).
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Plain bytes read at a time. */
const CHUNK = 256 * 1024;
/** Compressed bytes read at a time, and the most an inflater gives at once. */
const GZ_CHUNK = 64 * 1024;

/**
 * Cuts pieces of bytes into chunks of whole lines. The start of a line not yet ended is kept as a list
 * of pieces and joined once, when its `\n` arrives, so each byte is copied a bounded number of times
 * however long the line is (joining on every piece is quadratic). A line that passes MAX_LINE_BYTES is
 * let go: its bytes are dropped up to its `\n`, and then it is counted as corrupt. Pieces are at most
 * CHUNK bytes, so only the line that began in earlier pieces can pass the limit.
 */
class LineSplitter {
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

/** How far a read of a plain file has got, and where it stops (its size when the read began). */
interface PlainProgress {
  offset: number;
  end: number;
}

/**
 * The bytes of a plain file from `progress.offset` to `progress.end` (capped to the size the file has
 * when the read begins: a writer may append meanwhile), a piece at a time, moving `progress` on. The
 * file is opened for each piece and closed before the piece is yielded: a read suspended between
 * pieces (one per stream in a merge) holds no descriptor, so the number of streams is not limited by
 * the open-file limit. One buffer is reused: a piece is valid only until the next is asked for.
 */
async function* plainPieces(file: string, progress: PlainProgress, stats: ReadStats): AsyncGenerator<Buffer> {
  let buffer: Buffer | undefined;
  let first = true;
  for (;;) {
    const piece = await withFile(file, async (handle) => {
      if (first) progress.end = Math.min(progress.end, (await handle.stat()).size);
      const length = Math.min(CHUNK, progress.end - progress.offset);
      if (length <= 0) return undefined;
      buffer ??= Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, Math.min(length, buffer.length), progress.offset);
      return buffer.subarray(0, bytesRead);
    });
    first = false;
    // Cut back since the read began (recovery of a torn tail): what is left is read.
    if (piece === undefined || piece.length === 0) return;
    progress.offset += piece.length;
    countRead(stats, piece.length);
    yield piece;
  }
}

/**
 * plainPieces, and when the plain file disappears between two pieces (or before the first), the rest
 * from its `.gz`: it was compressed and then removed (format.md section 9, steps 4 and 5), and the
 * compressed file holds the same bytes at the same offsets once decompressed.
 */
async function* plainBytes(file: string, from: number, to: number, stats: ReadStats): AsyncGenerator<Buffer> {
  const progress: PlainProgress = { offset: from, end: to };
  try {
    yield* plainPieces(file, progress, stats);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    yield* plainWindowOfGzip(`${file}.gz`, progress.offset, progress.end, stats);
  }
}

/**
 * The whole lines of a plain segment from `from` (a line start) up to `to`: a chunk of them, or more
 * when one line is longer, and how many bytes they (and any overlong line skipped, counted in `stats`)
 * took. A line without its `\n` before `to` is left for later: it is being written, or torn. Throws
 * ENOENT when the file is gone (compressed since): the caller reads the `.gz`.
 */
export async function readWholeLines(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): Promise<{ lines: string[]; consumed: number }> {
  // Counted only once the read succeeds: a read that fails is done again, from the `.gz`.
  const own: ReadStats = { corrupt: 0, tornTail: false };
  const splitter = new LineSplitter(own);
  let lines: string[] = [];
  for await (const piece of plainPieces(file, { offset: from, end: to }, own)) {
    const chunk = splitter.push(piece);
    if (chunk !== undefined) {
      lines = linesOf(chunk);
      break;
    }
  }
  stats.corrupt += own.corrupt;
  return { lines, consumed: splitter.consumed };
}

/** The lines of a chunk of whole lines (it ends with `\n`), without their `\n`. */
export function linesOf(chunk: Buffer): string[] {
  const lines: string[] = [];
  for (let start = 0, nl = chunk.indexOf(0x0a); nl !== -1; start = nl + 1, nl = chunk.indexOf(0x0a, start)) {
    lines.push(chunk.toString('utf8', start, nl));
  }
  return lines;
}

/**
 * Streams the records of a range of one segment (plain as it was when the read began, or compressed).
 * Lines that are not valid records are skipped and counted in `stats`, never fatal.
 */
export async function* readRangeRecords(range: ReadRange, stats: ReadStats): AsyncGenerator<ReadLine> {
  for await (const chunk of rangeChunks(range, stats)) {
    for (const line of linesOf(chunk)) {
      const record = parseRecord(line);
      if (record === undefined) stats.corrupt++;
      else yield { record, line };
    }
  }
}

/** readRangeRecords over a whole segment. */
export function readSegmentRecords(file: string, stats: ReadStats): AsyncGenerator<ReadLine> {
  return readRangeRecords({ file, from: 0 }, stats);
}

/** A part of a segment file to read: plain bytes [from, to), or gzip members [from, to) of a `.gz`. */
export interface ReadRange {
  file: string;
  from: number;
  to?: number;
}

/** Whether a segment file is compressed (`.jsonl.gz`). */
export function isCompressed(file: string): boolean {
  return file.endsWith('.gz');
}

/**
 * Chunks of whole lines of a range of a plain or compressed segment, each ending in `\n`. A range of
 * a `.gz` names whole gzip members (one per index block); a `.gz` read whole is decompressed as one
 * stream. A compressed segment is sealed: a line it ends without `\n` is corrupt, where in a plain
 * segment it is torn. Lines over MAX_LINE_BYTES are skipped and counted as corrupt. No file stays
 * open while the caller holds a chunk.
 */
export async function* rangeChunks(range: ReadRange, stats: ReadStats): AsyncGenerator<Buffer> {
  const compressed = isCompressed(range.file);
  const splitter = new LineSplitter(stats);
  const to = range.to ?? Infinity;
  try {
    const pieces = compressed
      ? inflatedPieces(range.file, range.from, to, stats)
      : plainBytes(range.file, range.from, to, stats);
    for await (const piece of pieces) {
      const chunk = splitter.push(piece);
      if (chunk !== undefined) yield chunk;
    }
  } catch (err) {
    // Gone, plain file and `.gz` alike: prune removed the segment while it was read. Its events are
    // now before where the stream starts (format.md section 10): the read goes on without them.
    if (errnoCode(err) === 'ENOENT') return;
    if (!isZlibError(err)) throw err;
    // What was decompressed before the damage has been read; the rest of the segment cannot be.
    const gz = compressed ? range.file : `${range.file}.gz`;
    (stats.damaged ??= []).push(`${path.basename(gz)}: ${(err as Error).message}`);
    return;
  }
  if (splitter.unfinished > 0) {
    if (compressed) stats.corrupt++;
    else stats.tornTail = true;
  }
}

function isZlibError(err: unknown): boolean {
  return typeof (err as { errno?: unknown }).errno === 'number' && /^Z_/.test(errnoCode(err));
}

/**
 * The decompressed bytes of the gzip members in [from, to) of a `.gz` (to its end when `to` is
 * Infinity), a piece at a time. The compressed bytes are read on demand, a chunk at a time (open,
 * read, close), and fed to an inflater: a read suspended between pieces holds no descriptor. The
 * inflater stops while its output is not taken, so memory stays at a few pieces whatever the ratio.
 */
async function* inflatedPieces(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  const inflater = zlib.createGunzip({ chunkSize: GZ_CHUNK });
  const output = inflater[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let next = output.next();
  /** The input last written, until the inflater has taken all of it. */
  let fed: Promise<undefined> | undefined;
  let ended = false;
  let offset = from;
  try {
    for (;;) {
      if (fed === undefined && !ended) {
        const input = await readCompressed(file, offset, to);
        offset += input.length;
        countRead(stats, input.length);
        if (input.length === 0) {
          ended = true;
          inflater.end();
        } else {
          fed = new Promise((resolve) => inflater.write(input, () => resolve(undefined)));
        }
      }
      // Whichever comes first: output to give, or the input used up (read more).
      const step = fed === undefined ? await next : await Promise.race([next, fed]);
      if (step === undefined) {
        fed = undefined;
        continue;
      }
      if (step.done === true) return;
      yield step.value;
      next = output.next();
    }
  } finally {
    // Stopped early, or failed: the pending output ends with the inflater (premature close), unawaited.
    next.catch(() => undefined);
    inflater.destroy();
  }
}

/** Up to GZ_CHUNK compressed bytes at `offset` (before `to`); empty at the end. Open, read, close. */
async function readCompressed(file: string, offset: number, to: number): Promise<Buffer> {
  const length = Math.min(GZ_CHUNK, to - offset);
  if (length <= 0) return Buffer.alloc(0);
  return withFile(file, async (handle) => {
    // A fresh buffer each time: the inflater holds it until it has taken it.
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  });
}

/** The decompressed bytes [from, to) of a `.gz` (whole lines, as the plain file had them). */
async function* plainWindowOfGzip(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  let position = 0;
  for await (const piece of inflatedPieces(file, 0, Infinity, stats)) {
    const start = position;
    position += piece.length;
    if (position <= from) continue;
    if (start >= to) return;
    yield piece.subarray(Math.max(0, from - start), Math.min(piece.length, to - start));
    if (position >= to) return;
  }
}

/** Opens a file of the log (a regular file only, see openRegular), uses it, and closes it. */
async function withFile<T>(file: string, use: (handle: FileHandle) => Promise<T>): Promise<T> {
  const handle = await openRegular(file, 'r');
  try {
    return await use(handle);
  } finally {
    await handle.close();
  }
}

function countRead(stats: ReadStats, bytes: number): void {
  stats.bytesRead = (stats.bytesRead ?? 0) + bytes;
}
