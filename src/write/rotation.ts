import fs from 'node:fs';
import path from 'node:path';
import type { Chain } from '../format/chain.js';
import { errnoCode, EventsError, WriteError } from '../format/errors.js';
import { segmentFileName } from '../format/paths.js';
import { compressOffThread } from '../storage/compress-off-thread.js';
import { fsyncDirSync } from '../storage/fsutil.js';
import { acquireJobGate } from '../storage/job-gate.js';
import type { HeldLock } from '../storage/lock.js';
import { SegmentFile } from '../storage/segment-file.js';
import { sealSegment, writeSegmentIndex, type SegmentIndex } from '../storage/segment-index.js';
import { recordNewestSegmentSync, recordsSegmentSync } from '../storage/stream-records.js';
import type { Formed } from './former.js';
import { IndexAppender } from './index-appender.js';
import type { Report, Settings } from './options.js';

/**
 * The segment a writer appends to and its index, and the move to the next one: rotation
 * (format.md section 8), with the seal and compression (section 9) of the segment left behind running
 * in the background.
 */
export class ActiveSegment {
  /** Seals of rotated segments still being computed; close() waits for them. */
  private readonly sealing = new Set<Promise<void>>();

  constructor(
    private current: SegmentFile,
    private index: IndexAppender,
    /** When the active segment's first event was written (ms), for rotateAgeMs. */
    private startedMs: number | undefined,
    private readonly where: { jobDir: string; stream: string },
    private readonly settings: Settings,
    private readonly hasher: Chain,
    private readonly compress: boolean,
    private readonly report: Report,
  ) {}

  get segment(): SegmentFile {
    return this.current;
  }

  /** Notes a batch the segment now holds (its lines, and the bytes written): the index learns of it. */
  committed(written: Buffer, batch: Formed[]): void {
    this.current.commit(written.length);
    this.index.add(batch, written);
  }

  /**
   * How much the next batch may hold: a batch never runs past the point where the segment rotates;
   * past it (a rotation that failed, or at exit), a whole batch.
   */
  batchRoom(): number {
    const left = this.settings.rotateBytes - this.current.size;
    return left > 0 ? Math.min(this.settings.batchBytes, left) : this.settings.batchBytes;
  }

  /** Whether the active segment is full (rotateBytes) or old (rotateAgeMs). */
  rotationDue(): boolean {
    this.startedMs ??= Date.now();
    const tooOld = Date.now() - this.startedMs >= this.settings.rotateAgeMs;
    return this.current.size >= this.settings.rotateBytes || tooOld;
  }

  /**
   * Seals the active segment and starts the next one, whose first record continues the seq and the
   * chain: between batches, holding the job's gate, because LOG.json records the new segment before a
   * line is written there (format.md section 3). A failure is reported and the writer keeps appending
   * to the full segment, trying again after the next batch. `nextSeq` is asked once the gate is held.
   */
  async rotate(nextSeq: () => number): Promise<void> {
    let gate: HeldLock;
    try {
      gate = await acquireJobGate(this.where.jobDir);
    } catch (err) {
      this.report(asWriteError(err, `cannot rotate ${this.current.file}`));
      return;
    }
    try {
      this.startNextSegment(nextSeq());
    } finally {
      await gate.release();
    }
  }

  /**
   * Seals a segment, then compresses it, in the background; close() waits for both. `known` is its
   * index as the writer built it while writing it whole (written as it is); without, the segment is read.
   */
  seal(file: string, known?: SegmentIndex): Promise<void> {
    const sealed =
      known === undefined
        ? sealSegment(file, this.settings.indexBlockBytes, this.hasher)
        : writeSegmentIndex(file, known);
    const sealing = sealed
      .then(async () => {
        if (this.compress) await compressOffThread(file);
      })
      .catch((err: unknown) => this.report(asWriteError(err, `cannot seal or compress ${file}`)));
    this.sealing.add(sealing);
    void sealing.finally(() => this.sealing.delete(sealing));
    return sealing;
  }

  /**
   * Writes the index's last block and closes both files (what is written stays). Returns the segment's
   * sealed index if the writer saw it whole, for seal().
   */
  close(): SegmentIndex | undefined {
    const known = this.index.close(this.hasher);
    this.current.close();
    return known;
  }

  /** Resolves when every seal and compression begun has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.sealing);
  }

  /** The synchronous part of a rotation: nothing is written between choosing nextSeq and the swap. */
  private startNextSegment(nextSeq: number): void {
    const { jobDir, stream } = this.where;
    const next = path.join(jobDir, segmentFileName(stream, nextSeq));
    let opened: SegmentFile | undefined;
    try {
      this.current.syncSync();
      opened = SegmentFile.open(next, 0);
      opened.syncSync();
      fsyncDirSync(jobDir);
      recordNewestSegmentSync(jobDir, stream, nextSeq);
    } catch (err) {
      // Once LOG.json names the new segment (a directory sync failed after), it must stay: go on there.
      if (opened === undefined || !recordsSegmentSync(jobDir, stream, nextSeq)) {
        if (opened !== undefined) {
          opened.close();
          fs.rmSync(next, { force: true });
        }
        this.report(asWriteError(err, `cannot start ${next}`));
        return;
      }
      this.report(asWriteError(err, `started ${next}, but`));
    }
    const sealed = this.current.file;
    const known = this.close();
    this.current = opened;
    this.startedMs = undefined;
    this.index = IndexAppender.forNewSegment(next, this.settings.indexBlockBytes, (err) =>
      this.report(indexError(next, err)),
    );
    void this.seal(sealed, known);
  }
}

/** The index is derived data: a failure to write it is reported once, and appends go on. */
export function indexError(segmentFile: string, err: unknown): WriteError {
  return new WriteError(
    `cannot update the index of ${segmentFile} (readers will scan it): ${errnoCode(err)}`,
    errnoCode(err),
    { cause: err },
  );
}

/** A failure as the typed error the writer reports: library errors as they are, errno failures named. */
export function asWriteError(err: unknown, what: string): EventsError {
  if (err instanceof EventsError) return err;
  return new WriteError(`${what}: ${errnoCode(err)}`, errnoCode(err), { cause: err });
}
