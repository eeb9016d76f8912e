import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseMicros } from '../format/clock.js';
import { DataError, InvalidArgumentError, RemoteError } from '../format/errors.js';
import { TAIL_WINDOW } from '../write/recover-tail.js';
import { validateEvent, type EventInput, type ValidatedEvent } from '../format/schema/input.js';
import { resolveEventsDir } from '../storage/events-dir.js';
import { EventLog } from '../write/writer.js';
import { ensureConsumer } from './consumer.js';
import { connectNats, messageOf, type NatsOptions } from './connection.js';
import { assertValidPrefix, DEFAULT_SUBJECT_PREFIX, filterOf, parseSubject } from './subjects.js';
import { defaultStreamSettings, ensureStream, type StreamSettings } from './stream-settings.js';
import { decodeRemoteEvent, type RemoteEvent } from './wire.js';

export interface CollectOptions {
  /** The events directory the collected jobs are written to (as for EventLog.open). */
  dir?: string;
  nats: NatsOptions;
  /** Only this job's subjects; default every job's. */
  jobId?: string;
  subjectPrefix?: string;
  /** The JetStream stream; default MMM_EVENTS, created when missing (docs/deployment.md). */
  natsStream?: string;
  replicas?: number;
  maxBytes?: number;
  duplicateWindowMs?: number;
  /** The durable consumer's name: a collector restarted with the same name resumes. Default `mmm-events-collector`. */
  durable?: string;
  /** How long a message delivered and not acknowledged waits before JetStream delivers it again. Default 30 s. */
  ackWaitMs?: number;
  /** Messages delivered and not acknowledged at most. Default 10,000. */
  maxAckPending?: number;
  /** How long to keep trying to reach NATS at start (a server starting or restarting). Default 60 s. */
  startWaitMs?: number;
  /** Aborting stops taking messages; what was taken is written and acknowledged. */
  signal?: AbortSignal;
  /** What happens, for a command to print: a stream collected, a message refused, NATS waited for. */
  onNotice?: (notice: CollectNotice) => void;
}

export type CollectNotice =
  | { kind: 'stream'; jobId: string; stream: string; from: number }
  | { kind: 'refused'; subject: string; reason: string }
  | { kind: 'waiting'; reason: string };

export interface CollectResult {
  collected: number;
  /** Messages whose event was already in the log (a redelivery, a retry): acknowledged, not written. */
  duplicates: number;
  /** Messages refused (not an event, or not the job or stream of their subject): not written. */
  refused: number;
  /** The failure that stopped the collector (a disk, the server), if one did. */
  failure?: unknown;
}

/**
 * `events collect` (docs/deployment.md): reads the remote writers' events through a durable
 * consumer and appends each to the local stream of its subject, in the order JetStream stored them,
 * acknowledging a message only once its event is durable here. A redelivered event (the collector was
 * killed between its append and its acknowledgement) is recognised by its id and not written again.
 */
export async function collect(options: CollectOptions): Promise<CollectResult> {
  const prefix = assertValidPrefix(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX);
  const defaults = defaultStreamSettings(prefix);
  const settings: StreamSettings = {
    name: options.natsStream ?? defaults.name,
    prefix,
    replicas: options.replicas ?? defaults.replicas,
    maxBytes: options.maxBytes ?? defaults.maxBytes,
    duplicateWindowMs: options.duplicateWindowMs ?? defaults.duplicateWindowMs,
  };
  const collector = new Collector(options, prefix);
  const { nc, messages } = await startConsuming(options, settings);
  try {
    await collector.run(messages);
  } finally {
    await collector.close();
    await nc.drain().catch(() => nc.close());
  }
  return collector.result;
}

/**
 * Connects and sets up the stream and the consumer. While NATS cannot be reached or does not answer
 * (a server starting or restarting), tries again for up to startWaitMs, saying so once; settings that
 * would lose events, or a consumer of other jobs, are not waited out.
 */
async function startConsuming(
  options: CollectOptions,
  settings: StreamSettings,
): Promise<{ nc: NatsConnection; messages: ConsumerMessages }> {
  const deadline = Date.now() + (options.startWaitMs ?? 60_000);
  for (let pause = 250, told = false; ; pause = Math.min(pause * 2, 5_000)) {
    let nc: NatsConnection | undefined;
    try {
      nc = await connectNats({ name: 'events collect', ...options.nats });
      return { nc, messages: await consume(nc, options, settings) };
    } catch (err) {
      await nc?.close().catch(() => undefined);
      const lasting =
        err instanceof DataError ||
        err instanceof InvalidArgumentError ||
        (err instanceof RemoteError && err.lasting);
      if (lasting || Date.now() + pause > deadline || options.signal?.aborted === true) throw err;
      if (!told) options.onNotice?.({ kind: 'waiting', reason: messageOf(err) });
      told = true;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

async function consume(
  nc: NatsConnection,
  options: CollectOptions,
  settings: StreamSettings,
): Promise<ConsumerMessages> {
  const jsm = await jetstreamManager(nc);
  const { workQueue } = await ensureStream(jsm, settings);
  const durable = options.durable ?? 'mmm-events-collector';
  await ensureConsumer(jsm, {
    stream: settings.name,
    durable,
    filter: filterOf(settings.prefix, options.jobId),
    ackWaitMs: options.ackWaitMs ?? 30_000,
    maxAckPending: options.maxAckPending ?? 10_000,
    eventsDir: resolveEventsDir(options.dir, process.env).dir,
    workQueue,
  });
  const consumer = await jetstream(nc).consumers.get(settings.name, durable);
  return consumer.consume({ max_messages: Math.min(1000, options.maxAckPending ?? 10_000) });
}

/**
 * Appends in flight (delivered, not yet acknowledged to JetStream) at most, in bytes of messages:
 * after a crash every one of them may be delivered again, and each is recognised by its id only while
 * it lies in the tail of its stream that a writer reads at open (TAIL_WINDOW, 4 MiB). A quarter of it
 * leaves room for what the log adds to each line (seq, prev) and for the other streams.
 */
const MAX_IN_FLIGHT_BYTES = TAIL_WINDOW / 4;

class Collector {
  readonly result: CollectResult = { collected: 0, duplicates: 0, refused: 0 };
  private readonly sources = new Map<string, Promise<EventLog>>();
  private readonly writing = new Set<Promise<void>>();
  private inFlightBytes = 0;

  constructor(
    private readonly options: CollectOptions,
    private readonly prefix: string,
  ) {}

  async run(messages: ConsumerMessages): Promise<void> {
    const stop = () => messages.stop();
    this.options.signal?.addEventListener('abort', stop, { once: true });
    try {
      if (this.options.signal?.aborted === true) return;
      for await (const message of messages) {
        await this.take(message);
        while (this.inFlightBytes > MAX_IN_FLIGHT_BYTES && this.result.failure === undefined) {
          await Promise.race(this.writing);
        }
        if (this.result.failure !== undefined) break;
      }
    } finally {
      this.options.signal?.removeEventListener('abort', stop);
      await Promise.all(this.writing);
    }
    if (this.result.failure !== undefined) throw this.result.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.writing);
    const logs = await Promise.allSettled(this.sources.values());
    for (const log of logs) if (log.status === 'fulfilled') await log.value.close().catch(() => undefined);
  }

  private async take(message: JsMsg): Promise<void> {
    const where = parseSubject(this.prefix, message.subject);
    const event = decodeRemoteEvent(message.string());
    const checked =
      where === undefined
        ? 'not a subject of a job and stream'
        : typeof event === 'string'
          ? event
          : event.job_id !== where.jobId || event.stream !== where.stream
            ? `an event of ${event.job_id}/${event.stream} on the subject of ${where.jobId}/${where.stream}`
            : validated(event);
    if (typeof checked === 'string' || where === undefined || typeof event === 'string') {
      this.refuse(message, typeof checked === 'string' ? checked : 'refused');
      return;
    }
    this.write(await this.logOf(where.jobId, where.stream), message, checked, event.ts);
  }

  /**
   * Appends one event, in delivery order (JetStream's order of the subject), and acknowledges the
   * message once it is durable; an id already in the log (a redelivery) is acknowledged, not written.
   * A failure stops the collector: the message is not acknowledged, JetStream keeps it.
   */
  private write(log: EventLog, message: JsMsg, event: ValidatedEvent, ts: string): void {
    const bytes = message.data.length;
    this.inFlightBytes += bytes;
    const written = log.appendAt(event, parseMicros(ts)).then(
      async ({ duplicate }) => {
        if (duplicate) this.result.duplicates++;
        else this.result.collected++;
        // Counted in flight until JetStream confirms the acknowledgement: one lost with a killed
        // collector is a redelivery, which must still find its id in the tail.
        await message.ackAck().catch(() => undefined);
      },
      (err: unknown) => {
        this.result.failure ??= err;
      },
    );
    this.writing.add(written);
    void written.finally(() => {
      this.writing.delete(written);
      this.inFlightBytes -= bytes;
    });
  }

  /** The local stream of a remote one, opened once (its tail's ids are remembered at open). */
  private logOf(jobId: string, stream: string): Promise<EventLog> {
    const key = `${jobId}\n${stream}`;
    let log = this.sources.get(key);
    if (log === undefined) {
      // Nothing may be written after an event that was not: the stream's order is JetStream's.
      log = EventLog.open({ dir: this.options.dir, jobId, stream, stopAfterWriteFailure: true }).then(
        (opened) => {
          this.options.onNotice?.({ kind: 'stream', jobId, stream, from: opened.lastSeq + 1 });
          return opened;
        },
      );
      this.sources.set(key, log);
    }
    return log;
  }

  private refuse(message: JsMsg, reason: string): void {
    // Never delivered again: it cannot become valid.
    message.term();
    this.result.refused++;
    this.options.onNotice?.({ kind: 'refused', subject: message.subject, reason });
  }
}

/** append()'s input of a remote event (the writer's own fields are the collector's writer's). */
function inputOf(event: RemoteEvent): EventInput {
  const input: Record<string, unknown> = {
    event_type: event.event_type,
    data: event.data,
    severity: event.severity,
    id: event.id,
    correlation_id: event.correlation_id,
  };
  if (event.agent_id !== undefined) input.agent_id = event.agent_id;
  if (event.meta !== undefined) input.meta = event.meta;
  return input as unknown as EventInput;
}

/**
 * The event as append() validates it (checked before its job's log is opened), or why it is refused.
 * The collector's writer appends it as it is, validated once.
 */
function validated(event: RemoteEvent): ValidatedEvent | string {
  try {
    return validateEvent(inputOf(event));
  } catch (err) {
    return (err as Error).message;
  }
}
