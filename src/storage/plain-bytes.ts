import { errnoCode } from '../format/errors.js';
import { plainWindowOfGzip } from './gzip-members.js';
import { CHUNK } from './line-splitter.js';
import { countRead, type ReadStats } from './read-stats.js';
import { withFile } from './segment-io.js';

/** How far a read of a plain file has got, and where it stops (its size when the read began). */
export interface PlainProgress {
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
export async function* plainPieces(
  file: string,
  progress: PlainProgress,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
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
export async function* plainBytes(
  file: string,
  from: number,
  to: number,
  stats: ReadStats,
): AsyncGenerator<Buffer> {
  const progress: PlainProgress = { offset: from, end: to };
  try {
    yield* plainPieces(file, progress, stats);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    yield* plainWindowOfGzip(`${file}.gz`, progress.offset, progress.end, stats);
  }
}
