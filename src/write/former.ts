import { uuidv7 } from '../format/uuid7.js';
import type { Chain } from '../format/chain.js';
import { formatMicros } from '../format/clock.js';
import { InvalidArgumentError } from '../format/errors.js';
import { serializeRecord } from '../format/record.js';
import type { EventRecord } from '../format/schema/envelope.js';
import type { ValidatedEvent } from '../format/schema/input.js';
import { humanBytes, truncateLargestStrings } from '../format/truncate.js';
import type { Receipt } from './options.js';

/** An event given its place in the chain: the record, its line (with `\n`) and its receipt. */
export interface Formed {
  record: EventRecord;
  line: string;
  /** The line's length in UTF-8 bytes, with its `\n`. */
  bytes: number;
  receipt: Receipt;
}

/** The last seq of a stream and the `prev` its next record carries (format.md section 5). */
export interface ChainState {
  seq: number;
  prev: string;
}

/** Forms the records of one stream: seq, id and prev, in order. */
export class EventFormer {
  /** The last formed; a batch that could not be written puts it back (see GroupCommitWriter). */
  chain: ChainState;
  /** The type of the last event formed: a job that ended has its last segment sealed at close. */
  lastEventType: string | undefined;

  constructor(
    private readonly jobId: string,
    private readonly stream: string,
    /** How `prev` is computed: SHA-256, or an HMAC for a keyed log (format.md section 11). */
    private readonly hasher: Chain,
    private readonly maxLineBytes: number,
    chain: ChainState,
  ) {
    this.chain = chain;
  }

  /** Assigns seq, id and prev, and serialises: the event's place in the chain. */
  form(event: ValidatedEvent, tsUs: number, correlationId: string): Formed {
    const seq = this.chain.seq + 1;
    const record = recordOf(event, {
      seq,
      prev: this.chain.prev,
      tsUs,
      jobId: this.jobId,
      stream: this.stream,
      correlationId,
    });
    const line = this.lineOf(record, event.event_type);
    this.chain = { seq, prev: this.hasher.hash(line) };
    this.lastEventType = record.event_type;
    const withNewline = line + '\n';
    return { record, line: withNewline, bytes: Buffer.byteLength(withNewline), receipt: receiptOf(record) };
  }

  /** The record's line, its largest strings truncated if it is longer than maxLineBytes. */
  private lineOf(record: EventRecord, eventType: string): string {
    let line = serializeRecord(record);
    // A UTF-16 unit is at most 3 UTF-8 bytes: most lines are measured without encoding them.
    if (line.length * 3 <= this.maxLineBytes) return line;
    const excess = Buffer.byteLength(line) - this.maxLineBytes;
    if (excess > 0) {
      truncateLargestStrings(record, excess);
      line = serializeRecord(record);
      if (Buffer.byteLength(line) > this.maxLineBytes) {
        throw new InvalidArgumentError(
          `${eventType} event is ${humanBytes(Buffer.byteLength(line))} even with its strings truncated (maxLineBytes ${humanBytes(this.maxLineBytes)})`,
        );
      }
    }
    return line;
  }
}

/** Where an event goes: its place in a stream and what its writer gives it (format.md section 2). */
export interface Placement {
  seq: number;
  prev: string;
  tsUs: number;
  jobId: string;
  stream: string;
  correlationId: string;
}

/** The record of a validated event at its place; its id is the event's own, else a new UUIDv7. */
export function recordOf(event: ValidatedEvent, place: Placement): EventRecord {
  return {
    seq: place.seq,
    ts: formatMicros(place.tsUs),
    id: event.id ?? uuidv7(),
    job_id: place.jobId,
    stream: place.stream,
    event_type: event.event_type,
    severity: event.severity,
    agent_id: event.agent_id,
    correlation_id: place.correlationId,
    data: event.data as EventRecord['data'],
    meta: event.meta as EventRecord['meta'],
    prev: place.prev,
  };
}

export function receiptOf(record: EventRecord): Receipt {
  return { seq: record.seq, id: record.id, ts: record.ts, stream: record.stream };
}

/** The batch's lines in one buffer, encoded in place (no joined string in between). */
export function linesBuffer(batch: readonly Formed[]): Buffer {
  let bytes = 0;
  for (const formed of batch) bytes += formed.bytes;
  const buffer = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const formed of batch) at += buffer.write(formed.line, at, 'utf8');
  return buffer;
}
