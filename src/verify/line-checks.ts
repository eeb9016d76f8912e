import { parseMicros } from '../format/clock.js';
import type { EventRecord } from '../format/schema/envelope.js';
import type { WalkLine } from '../storage/stream-walk.js';
import type { FindingSink } from './report.js';

/** Where a line is: enough to look at it. */
export interface LineAt {
  segment: string;
  offset: number;
  seq: number;
}

/** A line of the stream that is a valid record. */
export type RecordLine = WalkLine & { record: EventRecord };

function at(line: RecordLine): LineAt {
  return { segment: line.segment.file, offset: line.offset, seq: line.record.seq };
}

/** Seq runs on from where the stream starts, by one, and each segment starts at the seq it is named for. */
export class SeqCheck {
  private first = true;

  constructor(
    private readonly add: FindingSink,
    /** The seq the next line should have. */
    public expected: number,
  ) {}

  begin(): void {
    this.first = true;
  }

  check({ segment, offset, record: { seq } }: RecordLine): void {
    if (this.first && seq !== segment.baseSeq) {
      const message = `the segment is named for seq ${segment.baseSeq} but starts at ${seq}`;
      this.add({ kind: 'segment-start', segment: segment.file, seq, offset, message });
    }
    this.first = false;
    if (seq > this.expected) {
      const message = `seq ${this.expected} to ${seq - 1} missing`;
      this.add({ kind: 'seq-gap', segment: segment.file, seq: this.expected, offset, message });
    } else if (seq < this.expected) {
      const message = `seq ${seq} after seq ${this.expected - 1}`;
      this.add({ kind: 'seq-order', segment: segment.file, seq, offset, message });
    }
    this.expected = Math.max(this.expected, seq + 1);
  }
}

/** A line whose prev did not match, waiting for the next line to tell which of the two changed. */
interface PendingBreak {
  line: LineAt;
  before: LineAt | undefined;
  recorded: string;
  actual: string;
}

/**
 * Each line's prev is the hash of the line before it (format.md section 5). A line whose prev does not
 * match says the line before it changed, unless the next line does not match this one either: then it
 * is this line that changed (its prev field). A corrupt line is skipped by the chain: if the next line
 * chains to the last good one, the corrupt line was only inserted.
 */
export class ChainCheck {
  private previous: LineAt | undefined;
  private pending: PendingBreak | undefined;

  constructor(
    private readonly add: FindingSink,
    private prev: string,
  ) {}

  check(line: RecordLine): void {
    const breaks = line.record.prev !== this.prev;
    const waiting = this.pending !== undefined;
    this.settle(breaks);
    this.pending =
      breaks && !waiting
        ? { line: at(line), before: this.previous, recorded: line.record.prev, actual: this.prev }
        : undefined;
    this.prev = line.hash;
    this.previous = at(line);
  }

  /** A line that is not a record. */
  skip(): void {
    this.settle(false);
    this.pending = undefined;
  }

  /** The end of the stream. */
  finish(): void {
    this.settle(false);
  }

  private settle(nextAlsoBreaks: boolean): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const line = nextAlsoBreaks ? pending.line : (pending.before ?? pending.line);
    const message = nextAlsoBreaks
      ? `seq ${line.seq} does not chain to the line before it, nor the next line to it: this line was changed`
      : `the chain breaks after seq ${line.seq}: it hashes to ${pending.actual}, but the next line records ${pending.recorded} (a line was changed, removed or inserted here)`;
    this.add({ kind: 'chain-break', ...line, message });
  }
}

/** Each line names the job and stream it is in. `jobId` is the job's id (its directory may be `<id>@<log id>`). */
export function checkOwner(
  add: FindingSink,
  line: RecordLine,
  jobId: string,
  job: string,
  stream: string,
): void {
  const { record } = line;
  if (record.stream === stream && record.job_id === jobId) return;
  const message = `a line of ${record.job_id}/${record.stream} in ${job}/${stream}`;
  add({ kind: 'wrong-owner', ...at(line), message });
}

/** Time never goes back within a stream. */
export class TimeCheck {
  private lastUs = -Infinity;

  constructor(private readonly add: FindingSink) {}

  check(line: RecordLine): void {
    const us = parseMicros(line.record.ts);
    if (us < this.lastUs)
      this.add({ kind: 'time-backwards', ...at(line), message: `time goes back to ${line.record.ts}` });
    this.lastUs = Math.max(this.lastUs, us);
  }
}
