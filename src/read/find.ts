import path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../format/errors.js';
import { isValidId } from '../format/ids.js';
import { readRangeRecords, type ReadStats } from '../storage/line-reader.js';
import { planSegment } from './plan.js';
import type { SegmentName } from '../format/paths.js';
import { readableSegments } from '../storage/segments.js';
import { openJob } from '../storage/jobs-dir.js';
import type { ReadEvent } from './reader.js';

/** Which event of a job: a seq (in its only stream, or `stream:seq`), or an event id. */
export type EventRef = { seq: number; stream?: string } | { id: string };

export interface FoundEvent extends ReadEvent {
  /** The segment file it was read from. */
  segment: string;
}

export function parseEventRef(text: string): EventRef {
  const match = /^(?:(.+):)?(\d+)$/.exec(text);
  if (match !== null && Number.isSafeInteger(Number(match[2])) && Number(match[2]) > 0) {
    const stream = match[1];
    if (stream !== undefined && !isValidId(stream)) {
      throw new InvalidArgumentError(`"${stream}" is not a stream id (in "${text}")`);
    }
    return { seq: Number(match[2]), stream };
  }
  if (isValidId(text)) return { id: text };
  throw new InvalidArgumentError(
    `"${text}" is not an event: give a seq (12), stream:seq (main:12) or an event id`,
  );
}

/** What a search of a job reads: its segments, where it counts what it skipped, and how. */
interface Search {
  job: string;
  jobDir: string;
  segments: SegmentName[];
  /** The newest segment of each stream: it may have no index yet (format.md section 8). */
  newest: Set<string>;
  stats: ReadStats;
  noIndex: boolean;
}

/**
 * Finds one event of a job; NotFoundError when it is not there, naming what was looked for. What the
 * read skipped (corrupt lines, ignored indexes, unreadable `.gz`) is counted into `options.stats`,
 * also when the event is not found: it may be what was skipped.
 */
export async function findEvent(
  dir: string,
  job: string,
  ref: EventRef,
  options: { noIndex?: boolean; stats?: ReadStats } = {},
): Promise<FoundEvent> {
  const { jobDir } = await openJob(dir, job);
  const segments = await readableSegments(jobDir);
  const search: Search = {
    job,
    jobDir,
    segments,
    newest: new Set(segments.filter((s, i) => segments[i + 1]?.stream !== s.stream).map((s) => s.file)),
    stats: options.stats ?? { corrupt: 0, tornTail: false },
    noIndex: options.noIndex === true,
  };
  if ('id' in ref) {
    const [found] = await scan(search, segments, (e) => e.record.id === ref.id);
    if (found === undefined) throw new NotFoundError(`job ${job} has no event with id ${ref.id}`);
    return found;
  }
  return findBySeq(search, ref);
}

/** The event with a seq: in the named stream, or in the only stream that has it. */
async function findBySeq(search: Search, ref: { seq: number; stream?: string }): Promise<FoundEvent> {
  const { job, segments } = search;
  const streams = [...new Set(segments.map((s) => s.stream))];
  if (ref.stream !== undefined && !streams.includes(ref.stream)) {
    throw new NotFoundError(`job ${job} has no stream ${ref.stream}`, {
      hint: `its streams: ${streams.join(', ')}`,
    });
  }
  // Only the segment of each stream whose seq range can hold it is read.
  const candidates = (ref.stream === undefined ? streams : [ref.stream]).flatMap((stream) => {
    const own = segments.filter((s) => s.stream === stream);
    return own.filter((s, i) => s.baseSeq <= ref.seq && ref.seq < (own[i + 1]?.baseSeq ?? Infinity));
  });
  const found = await scan(search, candidates, (e) => e.record.seq === ref.seq, ref.seq);
  if (found.length > 1) {
    const names = found.map((f) => `${f.record.stream}:${ref.seq}`).join(', ');
    throw new InvalidArgumentError(
      `seq ${ref.seq} is in more than one stream of job ${job}: say which, e.g. ${names}`,
    );
  }
  const [event] = found;
  if (event === undefined) {
    const where = ref.stream === undefined ? '' : ` in stream ${ref.stream}`;
    throw new NotFoundError(`job ${job} has no event with seq ${ref.seq}${where}`);
  }
  return event;
}

/**
 * The events of `candidates` that pass `test`. With an index only the block that can hold `seq` is
 * read (planSegment); without, the whole segment.
 */
async function scan(
  search: Search,
  candidates: SegmentName[],
  test: (e: ReadEvent) => boolean,
  seq?: number,
): Promise<FoundEvent[]> {
  const { jobDir, stats } = search;
  const found: FoundEvent[] = [];
  for (const segment of candidates) {
    const file = path.join(jobDir, segment.file);
    const plan = search.noIndex
      ? { ranges: [{ file, from: 0 }], problem: undefined }
      : await planSegment(file, {
          afterSeq: (seq ?? 1) - 1,
          untilSeq: seq ?? Infinity,
          mayLackIndex: search.newest.has(segment.file),
        });
    if (plan.problem !== undefined) (stats.indexProblems ??= []).push(`${segment.file}: ${plan.problem}`);
    for (const range of plan.ranges) {
      for await (const event of readRangeRecords(range, stats)) {
        if (test(event)) found.push({ ...event, segment: segment.file });
      }
    }
  }
  return found;
}
