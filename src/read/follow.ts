import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import type { SegmentName } from '../format/paths.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { listJobsToRead, openJob } from '../storage/jobs-dir.js';
import type { ReadStats } from '../storage/line-reader.js';
import { listSegments } from '../storage/segments.js';
import type { Cursor } from './cursor.js';
import { compileFilter, type EventFilter } from './filter.js';
import { HOT_MS, readStream, type BatchEvent, type Tracked } from './follow-stream.js';
import { compareRecords, type ReadEvent } from './reader.js';
import { plainName, type StreamPositions } from './stream-positions.js';

export { snapshotStreams, type StreamPositions } from './stream-positions.js';

export interface FollowOptions extends EventFilter {
  dir: string;
  /**
   * Where to begin: after `positions` (byte offsets, from `snapshotStreams`) and after `cursor` (seqs
   * already seen). Streams in neither are read from their first segment. Default: everything.
   */
  from?: { positions: StreamPositions; cursor?: Cursor };
  /** How often files are checked when no change notification arrives. Default 100 ms. */
  pollMs?: number;
  /** Ends the iteration (after the current batch). */
  signal?: AbortSignal;
  /** Called with every record read, matched or not, in order (to track state next to a filtered read). */
  observe?: (record: EventRecord) => void;
  /** Checked after each batch: true ends the iteration. */
  doneWhen?: () => boolean;
}

/** Streams quiet for longer than HOT_MS are checked every SLOW_EVERY ticks (plus on change notifications). */
const SLOW_EVERY = 10;
/** After a change notification, wait this long for more before reading (a burst becomes one read). */
const COALESCE_MS = 5;

/**
 * Follows a log as it grows, like `tail -f`: appends to every stream, new segments after a rotation,
 * new streams and (when no job is named) new jobs. Change notifications (fs.watch) wake it at once; a
 * stat poll backs them up, as watching is unreliable on some filesystems (docs/architecture.md, the read path). Each
 * batch of new events is emitted in (ts, stream, seq) order; each stream's events in seq order, once.
 */
export class EventFollower implements AsyncIterable<ReadEvent> {
  readonly stats = new Map<string, ReadStats>();
  private readonly tracked = new Map<string, Tracked>();
  private readonly segmentsOf = new Map<string, string[]>();
  private readonly jobs = new Set<string>();
  private readonly dirtyJobs = new Set<string>();
  private readonly watchers: fs.FSWatcher[] = [];
  private rootDirty = true;
  private wake: (() => void) | undefined;

  constructor(private readonly options: FollowOptions) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<ReadEvent> {
    const { signal, sinceUs, untilUs } = this.options;
    const matches = compileFilter(this.options);
    const onAbort = () => this.wake?.();
    signal?.addEventListener('abort', onAbort);
    this.watch(this.options.dir, () => (this.rootDirty = true));
    try {
      for (const job of this.options.jobs ?? []) await this.addJob(job);
      for (let tick = 0; signal?.aborted !== true; tick++) {
        const thorough = tick % SLOW_EVERY === 0;
        await this.discover(thorough);
        const batch: BatchEvent[] = [];
        let more = false;
        const now = Date.now();
        for (const t of this.tracked.values()) {
          if (thorough || t.hotUntil > now || this.dirtyJobs.has(t.job)) {
            more = (await this.readStream(t, batch)) || more;
          }
        }
        this.dirtyJobs.clear();
        batch.sort((a, b) => compareRecords(a.record, a.tsUs, b.record, b.tsUs));
        for (const { record, line, tsUs } of batch) {
          this.options.observe?.(record);
          const inTime =
            (sinceUs === undefined || tsUs >= sinceUs) && (untilUs === undefined || tsUs < untilUs);
          if (inTime && matches(record, line)) yield { record, line };
        }
        if (this.options.doneWhen?.() === true) return;
        if (!more) await this.sleep(this.options.pollMs ?? 100);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const watcher of this.watchers) watcher.close();
    }
  }

  /** New jobs (when following all of them), new segments and new streams. */
  private async discover(thorough: boolean): Promise<void> {
    if ((this.options.jobs ?? []).length === 0) {
      if (this.rootDirty || thorough) {
        this.rootDirty = false;
        for (const job of await listJobsToRead(this.options.dir, this.stats)) {
          if (!this.jobs.has(job)) await this.addJob(job);
        }
      }
    }
    for (const job of this.jobs) {
      if (thorough || this.dirtyJobs.has(job)) await this.listStreams(job);
    }
  }

  private async addJob(job: string): Promise<void> {
    const { jobDir } = await openJob(this.options.dir, job);
    this.jobs.add(job);
    this.stats.set(job, { corrupt: 0, tornTail: false });
    this.watch(jobDir, () => this.dirtyJobs.add(job));
    await this.listStreams(job);
  }

  private async listStreams(job: string): Promise<void> {
    const jobDir = path.join(this.options.dir, job);
    let segments: SegmentName[];
    try {
      segments = await listSegments(jobDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return; // the job was pruned while followed
      throw err;
    }
    // Segments are tracked by their plain name; one that is only compressed is read from its `.gz`.
    const plain = segments.map((s) => ({ ...s, file: plainName(s.file) }));
    for (const stream of new Set(plain.map((s) => s.stream))) {
      const key = `${job}/${stream}`;
      const names = [...new Set(plain.filter((s) => s.stream === stream).map((s) => s.file))];
      this.segmentsOf.set(key, names);
      if (!this.tracked.has(key)) this.tracked.set(key, this.startOf(job, stream, jobDir, names));
    }
  }

  private startOf(job: string, stream: string, jobDir: string, segments: string[]): Tracked {
    const key = `${job}/${stream}`;
    const known = this.options.from?.positions.get(key);
    const seq = Math.max(this.options.from?.cursor?.[job]?.streams[stream] ?? 0, known?.lastSeq ?? 0);
    const first = segments[0] as string;
    if (known !== undefined && segments.includes(known.segment)) {
      // A compressed newest segment was read to its end already: the follower waits for the next one.
      const { segment, offset } = known;
      const compressedRead = known.lastSeq !== undefined;
      return { job, stream, jobDir, segment, offset, seq, compressedRead, hotUntil: Date.now() + HOT_MS };
    }
    return { job, stream, jobDir, segment: first, offset: 0, seq, hotUntil: Date.now() + HOT_MS };
  }

  /** Reads what is new in one stream (at most a chunk); true when more is waiting. */
  private readStream(t: Tracked, batch: BatchEvent[]): Promise<boolean> {
    const segments = this.segmentsOf.get(`${t.job}/${t.stream}`) ?? [];
    return readStream(t, segments, this.stats.get(t.job) as ReadStats, batch);
  }

  private watch(target: string, onChange: () => void): void {
    try {
      const watcher = fs.watch(target, { persistent: false }, () => {
        onChange();
        setTimeout(() => this.wake?.(), COALESCE_MS);
      });
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    } catch {
      // Not watchable here (some network filesystems): the poll alone finds changes.
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      if (this.options.signal?.aborted === true) done();
    });
  }
}

export function followEvents(options: FollowOptions): EventFollower {
  return new EventFollower(options);
}
