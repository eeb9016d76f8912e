import type { TransformOptions } from 'node:stream';
import zlib from 'node:zlib';
import { countRead, type ReadStats } from './read-stats.js';
import { withFile } from './segment-io.js';

/** Compressed bytes read at a time, and the most an inflater gives at once. */
const GZ_CHUNK = 64 * 1024;
/** Decompressed bytes an inflater may hold that the reader has not taken yet. */
const READ_AHEAD = 256 * 1024;

/**
 * The decompressed bytes of the gzip members in [from, to) of a `.gz` (to its end when `to` is
 * Infinity), a piece at a time. The compressed bytes are read on demand, a chunk at a time (open,
 * read, close), and fed to an inflater: a read suspended between pieces holds no descriptor. The
 * inflater stops once READ_AHEAD of its output is not taken, so memory stays bounded whatever the ratio.
 */
export async function* inflatedPieces(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  // The inflater runs on the thread pool up to READ_AHEAD ahead of the reader, so that decompressing
  // the next pieces overlaps with parsing this one (a scan of gzip segments was half idle without).
  const options: zlib.ZlibOptions & TransformOptions = {
    chunkSize: GZ_CHUNK,
    readableHighWaterMark: READ_AHEAD,
  };
  const inflater = zlib.createGunzip(options);
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
export async function* plainWindowOfGzip(
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
