import { InvalidArgumentError } from '../format/errors.js';
import type { ReadStats } from '../storage/line-reader.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { followEvents, snapshotStreams } from './follow.js';
import type { Cursor } from './cursor.js';
import { lastOf, readLastEvents } from './last.js';
import { readEvents, type ReadEvent, type ReadOptions } from './reader.js';

export interface TailOptions extends ReadOptions {
  /** How many of the newest matching events to start with. */
  last: number;
  /** Keep reading new events as they are written. */
  follow?: boolean;
  /** Follow (one job) until its job_completed or job_failed event; see `EventTail.outcome`. */
  untilDone?: boolean;
  /** See FollowOptions. */
  pollMs?: number;
  signal?: AbortSignal;
}

export type JobOutcome = 'completed' | 'failed';

/**
 * `events tail`: the newest `last` matching events, then (with `follow`) every new one as it is
 * written. Nothing is lost or repeated between the two: the follower starts from where each stream
 * ended before the first part was read, and skips the seqs that part already saw.
 */
export class EventTail implements AsyncIterable<ReadEvent> {
  /** How the followed job ended (with `untilDone`), once it has. */
  outcome: JobOutcome | undefined;
  private readonly statsParts: Map<string, ReadStats>[] = [];

  constructor(private readonly options: TailOptions) {
    if (options.untilDone === true && options.jobs?.length !== 1) {
      throw new InvalidArgumentError('--until-done follows one job: give exactly one --job');
    }
  }

  /** What the reads skipped per job (corrupt lines, ignored indexes, unreadable `.gz`), over both parts. */
  get stats(): Map<string, ReadStats> {
    const merged = new Map<string, ReadStats>();
    for (const part of this.statsParts) {
      for (const [job, s] of part) {
        const m = merged.get(job) ?? { corrupt: 0, tornTail: false };
        merged.set(job, {
          corrupt: m.corrupt + s.corrupt,
          tornTail: m.tornTail || s.tornTail,
          indexProblems: [...(m.indexProblems ?? []), ...(s.indexProblems ?? [])],
          damaged: [...(m.damaged ?? []), ...(s.damaged ?? [])],
          skipped: m.skipped ?? s.skipped,
        });
      }
    }
    return merged;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ReadEvent> {
    const { untilDone = false } = this.options;
    const follow = this.options.follow === true || untilDone;
    const observe = (record: EventRecord) => {
      this.track(record);
      this.options.observe?.(record);
    };
    const positions = follow ? await snapshotStreams(this.options.dir, this.options.jobs) : undefined;
    let cursor: Cursor;
    if (untilDone) {
      // The job's state needs every event read, not just the newest matches.
      const reader = readEvents({ ...this.options, observe });
      this.statsParts.push(reader.stats);
      yield* await lastOf(reader, this.options.last);
      cursor = reader.cursor();
    } else {
      const { events, stats } = await readLastEvents(this.options, this.options.last);
      this.statsParts.push(stats);
      yield* events;
      // The follower goes on after the newest event shown of each stream (and from the snapshot).
      cursor = {};
      for (const { record } of events) {
        const job = (cursor[record.job_id] ??= { log: '', streams: {} });
        job.streams[record.stream] = Math.max(job.streams[record.stream] ?? 0, record.seq);
      }
    }
    const done = () => untilDone && this.outcome !== undefined;
    if (positions === undefined || done()) return;
    const follower = followEvents({
      ...this.options,
      from: { positions, cursor },
      observe,
      doneWhen: done,
    });
    this.statsParts.push(follower.stats);
    yield* follower;
  }

  private track(record: EventRecord): void {
    switch (record.event_type) {
      case 'job_completed':
        this.outcome = 'completed';
        break;
      case 'job_failed':
        this.outcome = 'failed';
        break;
      case 'job_started':
      case 'job_resumed':
        this.outcome = undefined;
    }
  }
}

export function tailEvents(options: TailOptions): EventTail {
  return new EventTail(options);
}
