import path from 'node:path';
import type { ReadStats } from '../storage/line-reader.js';
import { readableSegments } from '../storage/segments.js';
import { compileFilter, compileLinePrefilter } from './filter.js';
import { listJobsToRead, openJob } from '../storage/jobs-dir.js';
import { blockWant, planSegment } from './plan.js';
import { compareRecords, type ReadEvent, type ReadOptions } from './reader.js';
import { NEED_MORE, StreamSource, type SourceEvent } from './stream-source.js';

/** The newest `n` items of an iteration, in their order: a ring, so memory is bounded by `n`. */
export async function lastOf<T>(items: AsyncIterable<T>, n: number): Promise<T[]> {
  if (n === 0) {
    // Still read to the end: the caller may want the cursor and the counts of the whole read.
    for await (const item of items) void item;
    return [];
  }
  const ring: T[] = [];
  let seen = 0;
  for await (const item of items) ring[seen++ % n] = item;
  const start = seen > n ? seen % n : 0;
  return [...ring.slice(start), ...ring.slice(0, start)];
}

/**
 * The newest `n` events that match, read backwards through the segment indexes: each stream's blocks
 * are read from its newest, until that stream has given `n` matches, so the cost does not grow with
 * the length of the log (a segment without an index is read whole). The streams' newest are then
 * merged in (ts, stream, seq, job) order.
 */
export async function readLastEvents(
  options: ReadOptions,
  n: number,
): Promise<{ events: ReadEvent[]; stats: Map<string, ReadStats> }> {
  const { dir, sinceUs, untilUs } = options;
  const matches = compileFilter(options);
  const prefilter = compileLinePrefilter(options);
  const want = { ...blockWant(options), sinceUs, untilUs, afterSeq: 0, untilSeq: Infinity, perBlock: true };
  const stats = new Map<string, ReadStats>();
  const newest: SourceEvent[] = [];
  for (const job of options.jobs?.length ? options.jobs : await listJobsToRead(dir, stats)) {
    const { jobDir } = await openJob(dir, job);
    const jobStats: ReadStats = { corrupt: 0, tornTail: false };
    stats.set(job, jobStats);
    const segments = await readableSegments(jobDir);
    for (const stream of new Set(segments.map((s) => s.stream))) {
      let found: SourceEvent[] = [];
      const own = segments.filter((s) => s.stream === stream).reverse();
      for (const segment of own) {
        if (found.length >= n) break;
        const file = path.join(jobDir, segment.file);
        const plan = await planSegment(file, { ...want, mayLackIndex: segment === own[0] });
        if (plan.problem !== undefined)
          (jobStats.indexProblems ??= []).push(`${segment.file}: ${plan.problem}`);
        for (const range of [...plan.ranges].reverse()) {
          if (found.length >= n) break;
          const source = new StreamSource(job, stream, [range], 0, Infinity, jobStats, prefilter);
          const inRange: SourceEvent[] = [];
          for (;;) {
            const next = source.take();
            if (next === NEED_MORE) await source.fill();
            else if (next === undefined) break;
            else if (
              (sinceUs === undefined || next.tsUs >= sinceUs) &&
              (untilUs === undefined || next.tsUs < untilUs) &&
              matches(next.record, next.line)
            ) {
              inRange.push(next);
            }
          }
          found = [...inRange, ...found].slice(-n);
        }
      }
      newest.push(...found);
    }
  }
  newest.sort((a, b) => compareRecords(a.record, a.tsUs, b.record, b.tsUs));
  return { events: newest.slice(-n).map(({ record, line }) => ({ record, line })), stats };
}
