import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DataError } from '../format/errors.js';
import { crashPoint } from './fault.js';
import { fsyncDir, openRegular } from './fsutil.js';
import { withJobGate } from './job-gate.js';
import { tempPathFor } from '../format/paths.js';
import { rangeChunks, type ReadStats } from './line-reader.js';
import {
  readSegmentIndex,
  sealSegment,
  writeSegmentIndex,
  type BlockEntry,
  type SealEntry,
  type SegmentIndex,
} from './segment-index.js';

const gzip = promisify(zlib.gzip);

/** The `.jsonl.gz` name of a plain segment. */
export function compressedNameOf(plainFile: string): string {
  return `${plainFile}.gz`;
}

/**
 * Compresses a sealed segment as multi-member gzip, one member per index block, so that `zcat` reads
 * it whole and a reader can decompress one block by seeking to its member (docs/format.md section 9):
 * 1. write the members to a temp name beside it, fsync;
 * 2. decompress the temp file and check its SHA-256 and size against the seal;
 * 3. write the index with each block's member offsets;
 * 4. rename the temp file to `.jsonl.gz`, fsync the directory;
 * 5. remove the plain file, fsync the directory.
 * A crash at any step leaves the plain file (readers prefer it) and at worst a temp file that
 * `events rotate` removes, or both files, which `events rotate` finishes. zlib runs on the thread pool:
 * compressing never blocks the event loop of a writer.
 *
 * Steps 3 to 5 run under the job's gate, after checking that the plain segment is still there: a
 * segment prune removed (or another process compressed) meanwhile is not brought back; then the result
 * is undefined. `gateHeld` says the caller holds the gate already.
 */
export async function compressSegment(
  plainFile: string,
  options: { gateHeld?: boolean } = {},
): Promise<{ bytes: number; compressedBytes: number } | undefined> {
  const { index, seal } = await sealedIndexOf(plainFile);
  // An empty segment (a rotation had just begun it) has no member to write: nothing to compress.
  if (seal.bytes === 0) return undefined;
  const target = compressedNameOf(plainFile);
  // Not a segment name (readers ignore it), but a `.gz` name (it is read as gzip to verify it).
  const tmp = tempPathFor(target);
  const source = await openRegular(plainFile, 'r');
  const out = await openRegular(tmp, 'wx');
  try {
    const { blocks, written } = await writeMembers(source, out, index.blocks);
    crashPoint('compress:written');
    await out.sync();
    await out.close();
    await verify(tmp, seal.sha256, seal.bytes);
    crashPoint('compress:verified');
    const replace = async () => {
      if (!(await isSameFile(plainFile, source))) {
        await fs.rm(tmp, { force: true });
        return undefined;
      }
      await replaceWithCompressed(plainFile, tmp, { blocks, seal });
      return { bytes: seal.bytes, compressedBytes: written };
    };
    return options.gateHeld === true ? await replace() : await withJobGate(path.dirname(plainFile), replace);
  } catch (err) {
    await out.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    await source.close();
  }
}

/** The segment's index with its seal, sealing the segment first if it has none yet. */
async function sealedIndexOf(plainFile: string): Promise<{ index: SegmentIndex; seal: SealEntry }> {
  const size = (await fs.stat(plainFile)).size;
  let read = await readSegmentIndex(plainFile, size);
  if (!('index' in read) || read.index.seal === undefined) {
    await sealSegment(plainFile);
    read = await readSegmentIndex(plainFile, size);
  }
  if ('problem' in read || read.index.seal === undefined) {
    throw new DataError(`${plainFile} could not be sealed${'problem' in read ? `: ${read.problem}` : ''}`);
  }
  return { index: read.index, seal: read.index.seal };
}

/** Step 1: one gzip member per index block, appended to `out`; the blocks with their member offsets. */
async function writeMembers(
  source: fs.FileHandle,
  out: fs.FileHandle,
  indexBlocks: BlockEntry[],
): Promise<{ blocks: BlockEntry[]; written: number }> {
  const blocks: BlockEntry[] = [];
  let written = 0;
  for (const block of indexBlocks) {
    const plain = Buffer.alloc(block.off[1] - block.off[0]);
    await source.read(plain, 0, plain.length, block.off[0]);
    const member = await gzip(plain);
    await out.write(member);
    blocks.push({ ...block, gz: [written, written + member.length] });
    written += member.length;
  }
  return { blocks, written };
}

/** Steps 3 to 5, under the job's gate: the index, the rename into place, the plain file removed. */
async function replaceWithCompressed(plainFile: string, tmp: string, index: SegmentIndex): Promise<void> {
  const target = compressedNameOf(plainFile);
  await writeSegmentIndex(plainFile, index);
  crashPoint('compress:indexed');
  await fs.rename(tmp, target);
  await fsyncDir(path.dirname(target));
  crashPoint('compress:renamed');
  await fs.rm(plainFile, { force: true });
  await fsyncDir(path.dirname(target));
}

/** Whether `file` is still the file `handle` has open (not removed, moved away or replaced). */
async function isSameFile(file: string, handle: fs.FileHandle): Promise<boolean> {
  try {
    const [now, open] = [await fs.stat(file), await handle.stat()];
    return now.ino === open.ino && now.dev === open.dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Decompresses a whole `.gz` and checks it against the seal: what was written is what was sealed. */
async function verify(gzFile: string, sha256: string, bytes: number): Promise<void> {
  const hash = crypto.createHash('sha256');
  let length = 0;
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  for await (const chunk of rangeChunks({ file: gzFile, from: 0 }, stats)) {
    hash.update(chunk);
    length += chunk.length;
  }
  if (stats.damaged !== undefined || length !== bytes || hash.digest('hex') !== sha256) {
    throw new DataError(`the compressed copy ${gzFile} does not match its seal; the plain segment was kept`);
  }
}
