import path from 'node:path';
import type { ReadRange, ReadStats } from '../storage/line-reader.js';
import { readableSegments } from '../storage/segments.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { checkCursorLog, type Cursor } from './cursor.js';
import { compileFilter, compileLinePrefilter, type EventFilter } from './filter.js';
import { MinHeap } from './heap.js';
import { listJobsToRead, openJob } from '../storage/jobs-dir.js';
import { NEED_MORE, StreamSource, type SourceEvent } from './stream-source.js';
import { blockWant, planSegment } from './plan.js';

export interface ReadOptions extends EventFilter {
  /** The events directory (see locateEventsDir). */
  dir: string;
  /** Only events after this position (per job and stream). */
  afterCursor?: Cursor;
  /** Only events up to this position (a second pass over exactly what a first pass read). */
  untilCursor?: Cursor;
  /** Called with every record read, matched or not, in order (to track state next to a filtered read). */
  observe?: (record: EventRecord) => void;
  /** Read every line, ignoring the segment indexes (to compare, or to distrust them). */
  noIndex?: boolean;
}

export interface ReadEvent {
  record: EventRecord;
  /** The line exactly as stored, without `\n`. */
  line: string;
}

/**
 * The events of one or more jobs that match a filter, merged across streams and jobs in the order
 * (ts, stream, seq, job). Each stream is read a chunk at a time and only its next record is held in
 * the merge, so memory stays flat whatever the size of the log, and stopping early (`| head`) stops
 * reading. Lines that cannot match by their text are not parsed (see compileLinePrefilter).
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
    const { dir, sinceUs, untilUs, observe } = this.options;
    const matches = compileFilter(this.options);
    // Whoever observes every record needs them all parsed.
    const prefilter = observe === undefined ? compileLinePrefilter(this.options) : undefined;
    const heap = new MinHeap<SourceEvent>((a, b) => compareRecords(a.record, a.tsUs, b.record, b.tsUs) < 0);
    const sources: StreamSource[] = [];
    const place = (source: StreamSource, next: SourceEvent | undefined) => {
      if (next !== undefined) heap.push(next);
      else this.consumed(source.job, source.stream, source.lastSeq);
    };
    try {
      for (const jobId of this.options.jobs?.length
        ? this.options.jobs
        : await listJobsToRead(dir, this.stats)) {
        for (const source of await this.jobSources(jobId, prefilter)) {
          sources.push(source);
          let next = source.take();
          while (next === NEED_MORE) {
            await source.fill();
            next = source.take();
          }
          place(source, next);
        }
      }
      for (let head = heap.pop(); head !== undefined; head = heap.pop()) {
        const { record, line, tsUs, source } = head;
        // Time is non-decreasing within a stream: nothing later in it can match.
        if (untilUs !== undefined && tsUs >= untilUs) continue;
        this.consumed(record.job_id, record.stream, record.seq);
        observe?.(record);
        if ((sinceUs === undefined || tsUs >= sinceUs) && matches(record, line)) yield { record, line };
        // Awaits only at the end of a chunk: most records come from one already read.
        let next = source.take();
        while (next === NEED_MORE) {
          await source.fill();
          next = source.take();
        }
        place(source, next);
      }
    } finally {
      await Promise.all(sources.map((source) => source.close()));
    }
  }

  private consumed(job: string, stream: string, seq: number): void {
    const streams = this.positions[job]?.streams;
    if (streams !== undefined && seq > (streams[stream] ?? 0)) streams[stream] = seq;
  }

  private async jobSources(
    jobId: string,
    prefilter: ((line: string) => boolean) | undefined,
  ): Promise<StreamSource[]> {
    const { jobDir, manifest } = await openJob(this.options.dir, jobId);
    const { sinceUs, untilUs } = this.options;
    const after = this.options.afterCursor;
    if (after !== undefined) checkCursorLog(after, jobId, manifest.log_id);
    const startFrom = after?.[jobId]?.streams ?? {};
    const until = this.options.untilCursor;
    const upTo = until === undefined ? undefined : (until[jobId]?.streams ?? {});
    this.positions[jobId] = { log: manifest.log_id, streams: { ...startFrom } };
    const stats: ReadStats = { corrupt: 0, tornTail: false };
    this.stats.set(jobId, stats);
    const segments = await readableSegments(jobDir);
    const streams = [...new Set(segments.map((s) => s.stream))];
    // Whoever observes every record needs every block read.
    const want = this.options.observe === undefined ? { ...blockWant(this.options), sinceUs, untilUs } : {};
    const sources: StreamSource[] = [];
    for (const stream of streams) {
      const own = segments.filter((s) => s.stream === stream);
      const afterSeq = startFrom[stream] ?? 0;
      const untilSeq = upTo === undefined ? Infinity : (upTo[stream] ?? 0);
      // A segment whose successor starts at or before the cursor holds nothing new.
      const wanted = own.filter(
        (s, i) => (own[i + 1]?.baseSeq ?? Infinity) > afterSeq + 1 && s.baseSeq <= untilSeq,
      );
      const ranges: ReadRange[] = [];
      let skippedThrough = afterSeq;
      for (const segment of wanted) {
        const file = path.join(jobDir, segment.file);
        const plan =
          this.options.noIndex === true
            ? { ranges: [{ file, from: 0 }], skippedThrough: 0, problem: undefined }
            : await planSegment(file, { ...want, afterSeq, untilSeq, mayLackIndex: segment === own.at(-1) });
        if (plan.problem !== undefined) (stats.indexProblems ??= []).push(`${segment.file}: ${plan.problem}`);
        ranges.push(...plan.ranges);
        skippedThrough = Math.max(skippedThrough, plan.skippedThrough);
      }
      const source = new StreamSource(jobId, stream, ranges, afterSeq, untilSeq, stats, prefilter);
      source.lastSeq = Math.min(skippedThrough, untilSeq);
      sources.push(source);
    }
    return sources;
  }
}

/** Reads the events of a filter: `for await (const { record } of readEvents({ dir, kinds: ['agent_failed'] }))`. */
export function readEvents(options: ReadOptions): EventReader {
  return new EventReader(options);
}

/** The order of a merged read: (ts, stream, seq, job). */
export function compareRecords(x: EventRecord, xTsUs: number, y: EventRecord, yTsUs: number): number {
  return xTsUs - yTsUs || compare(x.stream, y.stream) || x.seq - y.seq || compare(x.job_id, y.job_id);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
