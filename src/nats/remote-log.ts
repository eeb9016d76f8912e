import os from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { nowMicros } from '../format/clock.js';
import { InvalidArgumentError, LogClosedError, RemoteError, toError } from '../format/errors.js';
import { assertValidId, sanitizeIdPart } from '../format/ids.js';
import { validateEvent, type EventInput, type ValidatedEvent } from '../format/schema/input.js';
import type { AppendOutcome } from '../write/batch-writer.js';
import { currentCorrelation } from '../write/correlation.js';
import { recordOf } from '../write/former.js';
import { positive, type Receipt } from '../write/options.js';
import { connectNats, type NatsOptions } from './connection.js';
import { publishWithRetry, streamOfSubject } from './publish.js';
import { defaultStreamSettings, ensureStream } from './stream-settings.js';
import { assertValidPrefix, DEFAULT_SUBJECT_PREFIX, subjectOf } from './subjects.js';
import { decodeRemoteEvent, encodeRemoteEvent, type RemoteEvent } from './wire.js';

export interface RemoteLogOptions {
  jobId: string;
  /**
   * The local stream the events are collected into. Default: one of this writer's own,
   * `<host>-<pid>-<random>`. Several writers may share a named stream: the collector writes their
   * events in the order JetStream stored them.
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
 * receipt shape as EventLog, publishing each event to JetStream, from where `events collect` appends
 * it to the log. An append resolves once JetStream has acknowledged the event (stored it). The
 * receipt's id, ts and stream are the event's in the log; its `seq` is the event's sequence number in
 * the JetStream stream (the collector gives it its seq in the log, in the order JetStream stored it).
 */
export class RemoteEventLog {
  private lastTsUs = 0;
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();
  /** Publishes in flight at most: all at once, a large appendMany would time out waiting for acks. */
  private readonly window = new Slots(1000);

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly jobId: string,
    readonly stream: string,
    private readonly subject: string,
    private readonly settings: { publishTimeoutMs: number; retryForMs: number },
  ) {}

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
      const jsm = await jetstreamManager(nc);
      await ensureStreamFor(jsm, subject, prefix);
      return new RemoteEventLog(nc, jetstream(nc), jsm, jobId, stream, subject, settings);
    } catch (err) {
      await nc.close();
      throw err;
    }
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
    const outcomes = events.map((event) => this.append(event).catch((err: unknown) => toError(err)));
    return Promise.all(outcomes);
  }

  /** Waits for what was appended, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.pending);
    await this.nc.drain().catch(() => this.nc.close());
  }

  private publish(event: ValidatedEvent): Promise<Receipt> {
    const tsUs = (this.lastTsUs = Math.max(nowMicros(), this.lastTsUs));
    // The record as the log will hold it; seq and prev are the collector's writer's (not published).
    const remote: RemoteEvent = recordOf(event, {
      seq: 0,
      prev: '',
      tsUs,
      jobId: this.jobId,
      stream: this.stream,
      correlationId: event.correlation_id ?? currentCorrelation() ?? this.jobId,
    });
    const body = encodeRemoteEvent(remote);
    const published = this.window
      .take()
      .then(() => publishWithRetry(this.js, this.subject, body, remote.id, this.settings))
      .finally(() => this.window.give());
    this.pending.add(published);
    void published.catch(() => undefined).finally(() => this.pending.delete(published));
    return published.then((ack) =>
      ack.duplicate
        ? this.receiptOfStored(ack)
        : { seq: ack.seq, id: remote.id, ts: remote.ts, stream: this.stream },
    );
  }

  /**
   * A repeated id within JetStream's duplicate window is not stored again: its ack names the message
   * stored first, whose time and stream the receipt gives (they are the ones the log will hold).
   */
  private async receiptOfStored(ack: PubAck): Promise<Receipt> {
    const stored = await this.jsm.streams.getMessage(ack.stream, { seq: ack.seq }).catch(() => null);
    const event = stored === null ? 'gone' : decodeRemoteEvent(stored.string());
    if (typeof event === 'string') {
      throw new RemoteError(
        `JetStream holds this event's id as message ${ack.seq}, which cannot be read (${event})`,
      );
    }
    return { seq: ack.seq, id: event.id, ts: event.ts, stream: event.stream };
  }

  private closedError(): LogClosedError {
    return new LogClosedError(`the remote log of job ${this.jobId} (stream ${this.stream}) is closed`);
  }
}

/** A stream of this writer's own: `<host>-<pid>-<random>`, an id (format.md section 1). */
function ownStreamName(): string {
  return `${sanitizeIdPart(os.hostname())}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A writer that starts before any collector creates the JetStream stream, with the collector's settings. */
async function ensureStreamFor(jsm: JetStreamManager, subject: string, prefix: string): Promise<void> {
  await streamOfSubject(jsm, subject).catch(async (err: unknown) => {
    await ensureStream(jsm, defaultStreamSettings(prefix)).catch(() => {
      throw err;
    });
  });
}

/** A counting semaphore whose waiters are served in order (publishes keep their order). */
class Slots {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  private head = 0;

  constructor(size: number) {
    this.free = size;
  }

  take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the slot to the oldest waiter, or frees it. */
  give(): void {
    const next = this.waiters[this.head];
    if (next === undefined) {
      this.free++;
      return;
    }
    this.waiters[this.head++] = undefined as unknown as () => void;
    if (this.head === this.waiters.length) {
      this.waiters.length = 0;
      this.head = 0;
    }
    next();
  }
}
