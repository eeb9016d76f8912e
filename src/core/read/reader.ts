import path from 'node:path';
import { parseMicros } from '../clock.js';
import { readSegmentRecords, type ReadStats } from '../line-reader.js';
import { listSegments } from '../recover.js';
import type { EventRecord } from '../schema/envelope.js';
import { checkCursorLog, type Cursor } from './cursor.js';
import { compileFilter, type EventFilter } from './filter.js';
import { MinHeap } from './heap.js';
import { listJobIds, openJob } from './jobs-dir.js';

export interface ReadOptions extends EventFilter {
  /** The events directory (see locateEventsDir). */
  dir: string;
  /** Only events after this position (per job and stream). */
  afterCursor?: Cursor;
  /** Only events up to this position (a second pass over exactly what a first pass read). */
  untilCursor?: Cursor;
  /** Called with every record read, matched or not, in order (to track state next to a filtered read). */
  observe?: (record: EventRecord) => void;
}

export interface ReadEvent {
  record: EventRecord;
  /** The line exactly as stored, without `\n`. */
  line: string;
}

interface Head {
  event: ReadEvent;
  tsUs: number;
  rest: AsyncIterator<ReadEvent>;
}

/**
 * The events of one or more jobs that match a filter, merged across streams and jobs in the order
 * (ts, stream, seq, job). Streams are read lazily and in parallel, one line at a time, so memory stays
 * flat whatever the size of the log, and stopping early (`| head`) stops reading.
 */
export class EventReader implements AsyncIterable<ReadEvent> {
  /** Per job: corrupt lines skipped and torn tails seen. */
  readonly stats = new Map<string, ReadStats>();
  private readonly positions: Cursor = {};

  constructor(private readonly options: ReadOptions) {}

  /** The position after the last event consumed, to resume with `afterCursor`. */
  cursor(): Cursor {
    return structuredClone(this.positions);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ReadEvent> {
    const { dir, sinceUs, untilUs } = this.options;
    const matches = compileFilter(this.options);
    const heap = new MinHeap<Head>((a, b) => order(a, b) < 0);
    const open: AsyncIterator<ReadEvent>[] = [];
    try {
      for (const jobId of this.options.jobs?.length ? this.options.jobs : await listJobIds(dir)) {
        for (const source of await this.jobSources(jobId)) {
          open.push(source);
          await pushNext(heap, source);
        }
      }
      for (let head = heap.pop(); head !== undefined; head = heap.pop()) {
        const { record } = head.event;
        if (untilUs !== undefined && head.tsUs >= untilUs) {
          // Time is non-decreasing within a stream: nothing later in it can match.
          continue;
        }
        this.consumed(record);
        this.options.observe?.(record);
        if ((sinceUs === undefined || head.tsUs >= sinceUs) && matches(record, head.event.line))
          yield head.event;
        await pushNext(heap, head.rest);
      }
    } finally {
      await Promise.all(open.map((source) => source.return?.()));
    }
  }

  private consumed(record: EventRecord): void {
    const job = this.positions[record.job_id];
    if (job !== undefined) job.streams[record.stream] = record.seq;
  }

  private async jobSources(jobId: string): Promise<AsyncIterator<ReadEvent>[]> {
    const { jobDir, manifest } = await openJob(this.options.dir, jobId);
    const after = this.options.afterCursor;
    if (after !== undefined) checkCursorLog(after, jobId, manifest.log_id);
    const startFrom = after?.[jobId]?.streams ?? {};
    const until = this.options.untilCursor;
    const upTo = until === undefined ? undefined : (until[jobId]?.streams ?? {});
    this.positions[jobId] = { log: manifest.log_id, streams: { ...startFrom } };
    const stats: ReadStats = { corrupt: 0, tornTail: false };
    this.stats.set(jobId, stats);
    const segments = (await listSegments(jobDir)).filter((s) => !s.compressed);
    const streams = [...new Set(segments.map((s) => s.stream))];
    return streams.map((stream) => {
      const own = segments.filter((s) => s.stream === stream);
      const afterSeq = startFrom[stream] ?? 0;
      const untilSeq = upTo === undefined ? Infinity : (upTo[stream] ?? 0);
      // A segment whose successor starts at or before the cursor holds nothing new.
      const wanted = own.filter(
        (s, i) => (own[i + 1]?.baseSeq ?? Infinity) > afterSeq + 1 && s.baseSeq <= untilSeq,
      );
      return streamEvents(
        wanted.map((s) => path.join(jobDir, s.file)),
        afterSeq,
        untilSeq,
        stats,
      )[Symbol.asyncIterator]();
    });
  }
}

/** Reads the events of a filter: `for await (const { record } of readEvents({ dir, kinds: ['agent_failed'] }))`. */
export function readEvents(options: ReadOptions): EventReader {
  return new EventReader(options);
}

async function* streamEvents(
  files: string[],
  afterSeq: number,
  untilSeq: number,
  stats: ReadStats,
): AsyncGenerator<ReadEvent> {
  for (const file of files) {
    for await (const event of readSegmentRecords(file, stats)) {
      if (event.record.seq > untilSeq) return;
      if (event.record.seq > afterSeq) yield event;
    }
  }
}

async function pushNext(heap: MinHeap<Head>, rest: AsyncIterator<ReadEvent>): Promise<void> {
  const next = await rest.next();
  if (next.done !== true) heap.push({ event: next.value, tsUs: parseMicros(next.value.record.ts), rest });
}

function order(a: Head, b: Head): number {
  return compareRecords(a.event.record, a.tsUs, b.event.record, b.tsUs);
}

/** The order of a merged read: (ts, stream, seq, job). */
export function compareRecords(x: EventRecord, xTsUs: number, y: EventRecord, yTsUs: number): number {
  return xTsUs - yTsUs || compare(x.stream, y.stream) || x.seq - y.seq || compare(x.job_id, y.job_id);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
