import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { parseMicros } from '../format/clock.js';
import { errnoCode } from '../format/errors.js';
import type { SegmentName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { openRegular } from '../storage/fsutil.js';
import { readManifest, type Manifest } from '../storage/manifest.js';
import { readSegmentIndex } from '../storage/segment-index.js';
import { readableSegments } from '../storage/segments.js';
import { cutTornTail, scanWholeTail, sealOf, TAIL_WINDOW, type CutTail } from './recover-tail.js';
import { recentBefore } from './recover-window.js';

/** Where a stream stands when its writer opens it. */
export interface StreamTail {
  /** The segment to append to, and its size after recovery. */
  segmentFile: string;
  size: number;
  lastSeq: number;
  prev: string;
  lastTsUs: number;
  /**
   * The records of the last TAIL_WINDOW bytes of the stream (oldest first), whatever segments they are
   * in, plain or compressed: for idempotent retries across a restart.
   */
  recent: EventRecord[];
  quarantined: { file: string; bytes: number } | undefined;
}

/**
 * Finds where a stream ends. A torn last line (a crash mid-write) and any unparsable lines after the
 * last good record are moved to `quarantine/` and cut off, so the stream continues its seq and chain
 * from the last whole record (docs/format.md section 7).
 */
export async function recoverStream(
  jobDir: string,
  stream: string,
  manifest: Manifest,
  segmentNameFor: (baseSeq: number) => string,
  chain: Chain = chainOf(manifest),
): Promise<StreamTail> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await recoverOnce(jobDir, stream, manifest, segmentNameFor, chain);
    } catch (err) {
      // A segment before the active one was compressed or pruned while it was read (the writer holds
      // only its active segment): look again, with where LOG.json now says the stream starts.
      if (errnoCode(err) !== 'ENOENT' || attempt === 5) throw err;
      manifest = (await readManifest(jobDir)) ?? manifest;
    }
  }
}

/** One recovery: the stream's segments as listed, and where LOG.json says the stream starts. */
interface Recovery {
  jobDir: string;
  segments: SegmentName[];
  start: { seq: number; prev: string };
  chain: Chain;
  segmentNameFor: (baseSeq: number) => string;
}

async function recoverOnce(
  jobDir: string,
  stream: string,
  manifest: Manifest,
  segmentNameFor: (baseSeq: number) => string,
  chain: Chain,
): Promise<StreamTail> {
  const start = manifest.start[stream] ?? { seq: 1, prev: chain.genesis(manifest.log_id, stream) };
  const segments = await readableSegments(jobDir, stream);
  const active = segments.at(-1);
  if (active === undefined) {
    return { ...emptyTail(start.seq, start.prev), segmentFile: segmentNameFor(start.seq) };
  }
  const recovery: Recovery = { jobDir, segments, start, chain, segmentNameFor };
  if (active.compressed) {
    // Sealed and compressed: the stream goes on in a new segment after it.
    const tail = await afterSeal(recovery, active, segments.length, TAIL_WINDOW);
    return { ...tail, segmentFile: segmentNameFor(tail.lastSeq + 1), quarantined: undefined };
  }
  const handle = await openRegular(path.join(jobDir, active.file), 'r+');
  try {
    const cut = await cutTornTail(handle, jobDir, active.file, chain);
    return await continueActive(recovery, active, cut);
  } finally {
    await handle.close();
  }
}

/**
 * Where the stream stands after a sealed segment, by its seal, and the records of the last `need`
 * bytes of the segments before `segments[end]`.
 */
async function afterSeal(
  recovery: Recovery,
  sealed: SegmentName,
  end: number,
  need: number,
): Promise<Omit<StreamTail, 'segmentFile' | 'quarantined'>> {
  const seal = await sealOf(path.join(recovery.jobDir, sealed.file), recovery.chain);
  const lastTsUs = parseMicros(seal.ts[1]);
  const { jobDir, segments, start } = recovery;
  const recent = await recentBefore(jobDir, segments, end, need, start.seq);
  return { size: 0, lastSeq: seal.seq[1], prev: seal.last_hash, lastTsUs, recent };
}

/** Where the stream stands once the active plain segment's torn tail is cut off. */
async function continueActive(recovery: Recovery, active: SegmentName, cut: CutTail): Promise<StreamTail> {
  const { jobDir, segments, start, chain } = recovery;
  const { scan, quarantined } = cut;
  // What of the window is still to be read in the segments before the active one.
  let need = cut.windowStart > 0 ? 0 : Math.max(0, TAIL_WINDOW - scan.goodEnd);
  // segments[0 .. older) hold the rest of the window, newest last.
  let older = segments.length - 1;
  let records = scan.records;
  // A segment just started by a rotation is empty: the chain continues from the one before it.
  const previous = segments.at(-2);
  if (records.length === 0 && previous !== undefined && previous.compressed) {
    const tail = await afterSeal(recovery, previous, older, need);
    return { ...tail, segmentFile: active.file, quarantined };
  }
  if (records.length === 0 && previous !== undefined) {
    const whole = await scanWholeTail(path.join(jobDir, previous.file), chain);
    records = whole.records;
    need = Math.max(0, need - whole.size);
    older--;
  }
  const last = records.at(-1);
  if (last === undefined) {
    return { ...emptyTail(active.baseSeq, start.prev), segmentFile: active.file, quarantined };
  }
  // A sealed segment is never appended to again: the stream goes on in a new one.
  const index = await readSegmentIndex(path.join(jobDir, active.file), scan.goodEnd);
  const sealed = 'index' in index && index.index.seal !== undefined;
  const before = await recentBefore(jobDir, segments, older, need, start.seq);
  return {
    segmentFile: sealed ? recovery.segmentNameFor(last.record.seq + 1) : active.file,
    size: sealed ? 0 : scan.goodEnd,
    lastSeq: last.record.seq,
    prev: last.hash,
    lastTsUs: parseMicros(last.record.ts),
    recent: before.concat(records.map((r) => r.record)),
    quarantined,
  };
}

function emptyTail(nextSeq: number, prev: string): Omit<StreamTail, 'segmentFile'> {
  return { size: 0, lastSeq: nextSeq - 1, prev, lastTsUs: 0, recent: [], quarantined: undefined };
}

/** The time of a segment's first record (read from its first line), or undefined when it has none. */
export async function segmentStartUs(file: string): Promise<number | undefined> {
  const handle = await openRegular(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
    const record = newline === -1 ? undefined : parseRecord(buffer.toString('utf8', 0, newline));
    return record === undefined ? undefined : parseMicros(record.ts);
  } finally {
    await handle.close();
  }
}
