import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { formatMicros, nowMicros } from '../format/clock.js';
import { InvalidArgumentError, LogClosedError, RemoteError } from '../format/errors.js';
import { assertValidId, sanitizeIdPart } from '../format/ids.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { validateEvent, type EventInput, type ValidatedEvent } from '../format/schema/input.js';
import { uuidv7 } from '../format/uuid7.js';
import type { AppendOutcome } from '../write/batch-writer.js';
import { currentCorrelation } from '../write/correlation.js';
import type { Receipt } from '../write/options.js';
import { connectNats, messageOf, type NatsOptions } from './connection.js';
import { publishWithRetry, streamOfSubject } from './publish.js';
import { defaultStreamSettings, ensureStream } from './stream-settings.js';
import { assertValidPrefix, DEFAULT_SUBJECT_PREFIX, subjectOf } from './subjects.js';
import { encodeRemoteEvent, decodeRemoteEvent } from './wire.js';

export interface RemoteLogOptions {
  jobId: string;
  /**
   * The stream this writer's events are collected into. Default: one of its own,
   * `<host>-<pid>-<random>`. A named stream continues where its last published event left it; one
   * writer at a time (a second one is refused at its first publish).
   */
  stream?: string;
  nats: NatsOptions;
  /** Default `mmm.events`: subjects are `<prefix>.<job>.<stream>` (docs/deployment.md). */
  subjectPrefix?: string;
  /** How long each publish waits for JetStream's acknowledgement. Default 5,000 ms. */
  publishTimeoutMs?: number;
  /** How long a publish is retried (server restarting, connection lost) before append() rejects. Default 60,000 ms. */
  retryForMs?: number;
}

/**
 * A writer on an agent's machine (docs/deployment.md): the same append(), appendMany(), close() and
 * receipts as EventLog, publishing each event to JetStream, where `events collect` appends it to the
 * log. An append resolves once JetStream has acknowledged the event and every earlier one of this
 * stream; the receipt's seq is the event's seq in the collected stream.
 */
export class RemoteEventLog {
  private seq: number;
  private lastTsUs = 0;
  private closed = false;
  /** The outcome of the latest publish: each append resolves after the one before it. */
  private last: Promise<unknown> = Promise.resolve();
  /** The first publish claims the stream (JetStream checks nobody published since open). */
  private claim: Promise<unknown> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly jobId: string,
    readonly stream: string,
    private readonly subject: string,
    start: { seq: number; subjectSeq: number },
    private readonly settings: { publishTimeoutMs: number; retryForMs: number },
  ) {
    this.seq = start.seq;
    this.claimFrom = start.subjectSeq;
  }

  private readonly claimFrom: number;

  static async open(options: RemoteLogOptions): Promise<RemoteEventLog> {
    const jobId = assertValidId('job id', options.jobId);
    const stream = assertValidId('stream id', options.stream ?? ownStreamName());
    const prefix = assertValidPrefix(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX);
    const subject = subjectOf(prefix, jobId, stream);
    const settings = {
      publishTimeoutMs: positive('publishTimeoutMs', options.publishTimeoutMs ?? 5_000),
      retryForMs: positive('retryForMs', options.retryForMs ?? 60_000),
    };
    const nc = await connectNats({ name: `events ${jobId}/${stream}`, ...options.nats });
    try {
      const start = await lastPublished(nc, subject, prefix);
      return new RemoteEventLog(nc, jetstream(nc), jobId, stream, subject, start, settings);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** The seq of the last event given a place in this stream (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  append<T extends string>(event: EventInput<T>): Promise<Receipt> {
    if (this.closed) return Promise.reject(this.closedError());
    let valid: ValidatedEvent;
    try {
      valid = validateEvent(event);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.publish(valid);
  }

  /** As EventLog.appendMany: one outcome per event, its receipt or why it was refused. */
  async appendMany(events: readonly EventInput[]): Promise<AppendOutcome[]> {
    if (this.closed) throw this.closedError();
    if (!Array.isArray(events)) throw new InvalidArgumentError('appendMany takes an array of events');
    const pending = events.map((event) => {
      try {
        return this.publish(validateEvent(event));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    });
    return Promise.all(
      pending.map((p) => p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))),
    );
  }

  /** Waits for what was appended, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.last.catch(() => undefined);
    await this.nc.drain().catch(() => this.nc.close());
  }

  private publish(event: ValidatedEvent): Promise<Receipt> {
    const tsUs = (this.lastTsUs = Math.max(nowMicros(), this.lastTsUs));
    const record: Omit<EventRecord, 'prev'> = {
      seq: ++this.seq,
      ts: formatMicros(tsUs),
      id: event.id ?? uuidv7(),
      job_id: this.jobId,
      stream: this.stream,
      event_type: event.event_type,
      severity: event.severity,
      agent_id: event.agent_id,
      correlation_id: event.correlation_id ?? currentCorrelation() ?? this.jobId,
      data: event.data as EventRecord['data'],
      meta: event.meta as EventRecord['meta'],
    };
    const body = encodeRemoteEvent(record);
    const send = (expect?: number) =>
      publishWithRetry(this.js, this.subject, body, record.id, {
        ...this.settings,
        expectLastSubjectSeq: expect,
      });
    // The first publish goes alone, expecting the subject's last sequence seen at open; the rest follow it.
    let published: Promise<PubAck>;
    if (this.claim === undefined) {
      published = send(this.claimFrom);
      this.claim = published;
    } else {
      published = this.claim.then(() => send());
    }
    const previous = this.last;
    const done = previous.then(
      () => published,
      (err: unknown) => {
        published.catch(() => undefined);
        throw new RemoteError(
          `event ${record.seq} of ${this.jobId}/${this.stream} not acknowledged: an earlier one failed (${messageOf(err)})`,
        );
      },
    );
    this.last = done;
    return done.then(() => ({ seq: record.seq, id: record.id, ts: record.ts, stream: this.stream }));
  }

  private closedError(): LogClosedError {
    return new LogClosedError(`the remote log of job ${this.jobId} (stream ${this.stream}) is closed`);
  }
}

/** A stream of this writer's own: `<host>-<pid>-<random>`, an id (format.md section 1). */
function ownStreamName(): string {
  return `${sanitizeIdPart(os.hostname())}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Where a stream's subject stands: the last event's seq and its JetStream sequence (0, 0 if none). */
async function lastPublished(
  nc: NatsConnection,
  subject: string,
  prefix: string,
): Promise<{ seq: number; subjectSeq: number }> {
  const jsm = await jetstreamManager(nc);
  // A writer that starts before any collector creates the stream, with the collector's settings.
  const streamName = await streamOfSubject(jsm, subject).catch(async (err: unknown) => {
    await ensureStream(jsm, defaultStreamSettings(prefix)).catch(() => {
      throw err;
    });
    return streamOfSubject(jsm, subject);
  });
  let message;
  try {
    message = await jsm.streams.getMessage(streamName, { last_by_subj: subject });
  } catch (err) {
    throw new RemoteError(`cannot read the last event of ${subject}: ${messageOf(err)}`, { cause: err });
  }
  if (message === null) return { seq: 0, subjectSeq: 0 };
  const event = decodeRemoteEvent(message.string());
  if (typeof event === 'string') {
    throw new RemoteError(`the last message on ${subject} is not an event (${event})`);
  }
  return { seq: event.seq, subjectSeq: message.seq };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`${name} must be a positive number`);
  return value;
}
