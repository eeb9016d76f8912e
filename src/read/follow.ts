import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseMicros } from '../format/clock.js';
import { errnoCode } from '../format/errors.js';
import { openRegular } from '../storage/fsutil.js';
import { linesOf, rangeChunks, readWholeLines, type ReadStats } from '../storage/line-reader.js';
import { parseRecord } from '../format/record.js';
import { listSegments } from '../storage/segments.js';
import type { SegmentName } from '../format/paths.js';
import { readIndexTail } from '../storage/segment-index.js';
import type { EventRecord } from '../format/schema/envelope.js';
import type { Cursor } from './cursor.js';
import { compileFilter, type EventFilter } from './filter.js';
import { listJobIds, listJobsToRead, openJob } from '../storage/jobs-dir.js';
import { compareRecords, type ReadEvent } from './reader.js';

/** Where each stream of a job ended at one moment: `${job}/${stream}` → its newest segment and size. */
/**
 * Where each stream stood when a follow began: a segment (its plain name) and the offset of the next
 * whole line; for a stream whose newest segment is compressed (a job that ended), the end of that
 * segment and its last seq, so that nothing before it is read again (issue 11).
 */
export type StreamPositions = Map<string, { segment: string; offset: number; lastSeq?: number }>;

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

interface BatchEvent {
  record: EventRecord;
  line: string;
  tsUs: number;
}

interface Tracked {
  job: string;
  stream: string;
  jobDir: string;
  /** The segment being read (a plain file name) and the offset of the next whole line in it. */
  segment: string;
  offset: number;
  /** The last seq seen: lines at or before it are not emitted again. */
  seq: number;
  /** Until when (ms since the epoch) this stream is polled every tick rather than every few. */
  hotUntil: number;
  /** The current segment's plain file is gone and its `.gz` (if any) has been read. */
  compressedRead?: boolean;
}

/** Streams quiet for longer than this are checked every SLOW_EVERY ticks (plus on change notifications). */
const HOT_MS = 60_000;
const SLOW_EVERY = 10;
/** After a change notification, wait this long for more before reading (a burst becomes one read). */
const COALESCE_MS = 5;

/** The newest segment and its size for every stream of the given jobs (all jobs when none). */
export async function snapshotStreams(dir: string, jobs: string[] = []): Promise<StreamPositions> {
  const positions: StreamPositions = new Map();
  for (const job of jobs.length > 0 ? jobs : await listJobIds(dir)) {
    const { jobDir } = await openJob(dir, job);
    const segments = await listSegments(jobDir);
    for (const segment of newestPerStream(segments)) {
      const file = path.join(jobDir, segment.file);
      const size = await sizeOf(file);
      if (size === undefined) {
        // Compressed since it was listed: the stream stands at the end of its `.gz`.
        const end = await endOfCompressed(`${file}.gz`);
        if (end !== undefined) positions.set(`${job}/${segment.stream}`, { segment: segment.file, ...end });
        continue;
      }
      const offset = await lineStartAtOrBefore(file, size).catch(() => undefined);
      if (offset !== undefined) positions.set(`${job}/${segment.stream}`, { segment: segment.file, offset });
    }
    // After the plain ones: a stream whose newest segment is compressed ends there.
    for (const ended of endedStreams(segments)) {
      const end = await endOfCompressed(path.join(jobDir, ended.file));
      if (end !== undefined)
        positions.set(`${job}/${ended.stream}`, { segment: plainName(ended.file), ...end });
    }
  }
  return positions;
}

/**
 * Follows a log as it grows, like `tail -f`: appends to every stream, new segments after a rotation,
 * new streams and (when no job is named) new jobs. Change notifications (fs.watch) wake it at once; a
 * stat poll backs them up, as watching is unreliable on some filesystems (DESIGN.md section 4). Each
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
  private async readStream(t: Tracked, batch: BatchEvent[]) {
    const stats = this.stats.get(t.job) as ReadStats;
    for (;;) {
      const segments = this.segmentsOf.get(`${t.job}/${t.stream}`) ?? [];
      const next = segments[segments.indexOf(t.segment) + 1];
      const file = path.join(t.jobDir, t.segment);
      const size = await sizeOf(file);
      if (size === undefined) {
        // Compressed since it was last read: what is left of it comes from the `.gz` (seqs already
        // seen are skipped). Pruned: nothing is left. Then on to the next segment, once there is one.
        if (!t.compressedRead) {
          t.compressedRead = true;
          await this.readCompressed(t, `${file}.gz`, batch);
        }
        if (next === undefined) return false;
        Object.assign(t, { segment: next, offset: 0, compressedRead: false });
        continue;
      }
      if (size < t.offset) {
        // Cut back (a recovered torn tail): read it again; seqs already seen are skipped.
        t.offset = 0;
        continue;
      }
      if (size > t.offset) {
        let read: { lines: string[]; consumed: number };
        try {
          read = await readWholeLines(file, t.offset, size, stats);
        } catch (err) {
          // Compressed and removed since the stat (the file is opened per chunk): the next turn reads
          // the `.gz`.
          if (errnoCode(err) === 'ENOENT') continue;
          throw err;
        }
        const { lines, consumed } = read;
        t.offset += consumed;
        t.hotUntil = Date.now() + HOT_MS;
        this.collect(t, lines, batch);
        if (t.offset < size && consumed > 0) return true;
      }
      // A segment with a successor is sealed: once read (a torn remainder cannot grow), move on.
      if (next === undefined) return false;
      stats.tornTail ||= t.offset < size;
      Object.assign(t, { segment: next, offset: 0 });
    }
  }

  private async readCompressed(t: Tracked, gzFile: string, batch: BatchEvent[]): Promise<void> {
    if ((await sizeOf(gzFile)) === undefined) return;
    const stats = this.stats.get(t.job) as ReadStats;
    for await (const chunk of rangeChunks({ file: gzFile, from: 0 }, stats)) {
      this.collect(t, linesOf(chunk), batch);
    }
  }

  /** Parses new lines of a stream into the batch: corrupt ones counted, seqs already seen skipped. */
  private collect(t: Tracked, lines: string[], batch: BatchEvent[]): void {
    const stats = this.stats.get(t.job) as ReadStats;
    for (const line of lines) {
      const record = parseRecord(line);
      if (record === undefined) stats.corrupt++;
      else if (record.seq > t.seq) {
        t.seq = record.seq;
        batch.push({ record, line, tsUs: parseMicros(record.ts) });
      }
    }
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

/** The start of the line that `offset` falls in (`offset` itself at a line start): never mid-line. */
async function lineStartAtOrBefore(file: string, offset: number): Promise<number> {
  const handle = await openRegular(file, 'r');
  try {
    let end = offset;
    while (end > 0) {
      const start = Math.max(0, end - 64 * 1024);
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      const nl = buffer.lastIndexOf(0x0a);
      if (nl !== -1) return start + nl + 1;
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The newest segment of each stream whose newest segment is compressed (its writer sealed it). */
function endedStreams(segments: SegmentName[]): SegmentName[] {
  const newest = new Map<string, SegmentName>();
  for (const s of segments) newest.set(s.stream, s);
  return [...newest.values()].filter((s) => s.compressed);
}

/** The plain size and last seq of a compressed segment: from its index, else by reading it. */
async function endOfCompressed(gzFile: string): Promise<{ offset: number; lastSeq: number } | undefined> {
  const size = await sizeOf(gzFile);
  if (size === undefined) return undefined;
  const tail = await readIndexTail(gzFile, size);
  if (tail !== undefined) return { offset: tail.seal.bytes, lastSeq: tail.seal.seq[1] };
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  let offset = 0;
  let lastSeq = 0;
  for await (const chunk of rangeChunks({ file: gzFile, from: 0 }, stats)) {
    offset += chunk.length;
    for (const line of linesOf(chunk)) lastSeq = parseRecord(line)?.seq ?? lastSeq;
  }
  return { offset, lastSeq };
}

/** The newest segment of each stream that is still plain (the active one): where following begins. */
function newestPerStream(segments: SegmentName[]): SegmentName[] {
  const newest = new Map<string, SegmentName>();
  for (const s of segments) if (!s.compressed) newest.set(s.stream, s);
  return [...newest.values()];
}

function plainName(file: string): string {
  return file.replace(/\.gz$/, '');
}
