import fs from 'node:fs';
import path from 'node:path';
import type { Chain } from '../format/chain.js';
import { errnoCode, EventsError, WriteError } from '../format/errors.js';
import { parseSegmentFileName, segmentFileName, type SegmentName } from '../format/paths.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { resolveEventsDir } from '../storage/events-dir.js';
import { fsyncDir, pathExists } from '../storage/fsutil.js';
import { withJobGate } from '../storage/job-gate.js';
import { isCompressed } from '../storage/line-reader.js';
import type { HeldLock } from '../storage/lock.js';
import type { Manifest } from '../storage/manifest.js';
import { SegmentFile } from '../storage/segment-file.js';
import { readSegmentIndex } from '../storage/segment-index.js';
import { currentSegmentFile, readableSegments } from '../storage/segments.js';
import { recordNewestSegment } from '../storage/stream-records.js';
import { claimUnderGate } from './claim.js';
import type { ChainState } from './former.js';
import { IndexAppender } from './index-appender.js';
import type { EventLogOptions, Report, Settings } from './options.js';
import { recoverStream, segmentStartUs } from './recover.js';
import { ActiveSegment, indexError } from './rotation.js';

/** A stream taken and recovered, its active segment open: what a writer starts from. */
export interface OpenedStream {
  stream: string;
  jobDir: string;
  logId: string;
  hasher: Chain;
  chain: ChainState;
  lastTsUs: number;
  lock: HeldLock;
  active: ActiveSegment;
  /** The latest records of the stream, whose ids a retry may repeat. */
  recent: EventRecord[];
}

/**
 * Opens (creating if needed) the log of a job and takes one of its streams: claimed under the job's
 * gate, recovered (format.md section 7), its active segment opened, older segments a crash left
 * unsealed sealed in the background. `create` makes the writer; if anything fails, the stream is let go.
 */
export async function openStream<T>(
  jobId: string,
  options: EventLogOptions,
  settings: Settings,
  report: Report,
  create: (opened: OpenedStream) => T,
): Promise<T> {
  const eventsDir = resolveEventsDir(options.dir, process.env).dir;
  const jobDir = path.join(eventsDir, jobId);
  return ioErrors(`cannot open the log of job ${jobId} in ${jobDir}`, async () => {
    const { manifest, chain, stream, lock } = await claimUnderGate(jobDir, jobId, options);
    try {
      const tail = await recoverStream(
        jobDir,
        stream,
        manifest,
        (base) => segmentFileName(stream, base),
        chain,
      );
      if (tail.quarantined !== undefined) {
        // Not an error: a crash left half a line, which was never acknowledged.
        process.emitWarning(
          `moved a torn tail of ${tail.quarantined.bytes} bytes of stream ${stream} to ${tail.quarantined.file}`,
          { code: 'MMM_EVENTS_TORN_TAIL' },
        );
      }
      const file = path.join(jobDir, tail.segmentFile);
      const segment = await openActiveSegment(jobDir, stream, file, tail.size, manifest);
      const index = await IndexAppender.reopen(file, tail.size, settings.indexBlockBytes, (err) =>
        report(indexError(file, err)),
      );
      const startUs = tail.size > 0 ? await segmentStartUs(file) : undefined;
      const compress = options.compress ?? true;
      const where = { jobDir, stream };
      const startedMs = startUs === undefined ? undefined : startUs / 1000;
      const active = new ActiveSegment(segment, index, startedMs, where, settings, chain, compress, report);
      // Older segments a crash left unsealed (between a rotation and its seal) are sealed now.
      const unsealed = await unsealedOlderSegments(jobDir, stream, tail.segmentFile);
      const log = create({
        stream,
        jobDir,
        logId: manifest.log_id,
        hasher: chain,
        chain: { seq: tail.lastSeq, prev: tail.prev },
        lastTsUs: tail.lastTsUs,
        lock,
        active,
        recent: tail.recent,
      });
      for (const older of unsealed) void active.seal(older);
      return log;
    } catch (err) {
      await lock.release();
      throw err;
    }
  });
}

async function unsealedOlderSegments(jobDir: string, stream: string, active: string): Promise<string[]> {
  const unsealed: string[] = [];
  for (const segment of await readableSegments(jobDir, stream)) {
    if (segment.compressed || segment.file === active) continue;
    // Compressed (so sealed) or pruned since it was listed: nothing to seal.
    const current = await currentSegmentFile(path.join(jobDir, segment.file));
    if (current === undefined || isCompressed(current.file)) continue;
    const read = await readSegmentIndex(current.file, current.size);
    if (!('index' in read) || read.index.seal === undefined) unsealed.push(current.file);
  }
  return unsealed;
}

/**
 * Opens the segment a writer appends to. A new one is created, and LOG.json made to record it before a
 * line is written there (format.md section 3), in one step under the job's gate: verify, looking under
 * the gate, sees either neither or both.
 */
async function openActiveSegment(
  jobDir: string,
  stream: string,
  file: string,
  size: number,
  manifest: Manifest,
): Promise<SegmentFile> {
  const { baseSeq } = parseSegmentFileName(path.basename(file)) as SegmentName;
  if ((manifest.streams?.[stream]?.newest_segment ?? 0) >= baseSeq) return SegmentFile.open(file, size);
  return withJobGate(jobDir, async () => {
    const isNew = !(await pathExists(file));
    const segment = SegmentFile.open(file, size);
    try {
      if (isNew) {
        segment.syncSync();
        await fsyncDir(jobDir);
      }
      await recordNewestSegment(jobDir, stream, baseSeq);
      return segment;
    } catch (err) {
      segment.close();
      if (isNew) await fs.promises.rm(file, { force: true });
      throw err;
    }
  });
}

/** Turns errno failures of opening into a WriteError naming what could not be done. */
async function ioErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EventsError) throw err;
    const code = errnoCode(err);
    throw new WriteError(`${what}: ${code} (${(err as Error).message})`, code, { cause: err });
  }
}
