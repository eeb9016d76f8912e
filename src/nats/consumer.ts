import fs from 'node:fs/promises';
import path from 'node:path';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { DataError, RemoteError } from '../format/errors.js';
import { collectRestartFileName, GLOBAL_DIR } from '../format/paths.js';
import { writeFileAtomic } from '../storage/fsutil.js';
import { messageOf } from './connection.js';

export interface ConsumerSettings {
  stream: string;
  durable: string;
  filter: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** The events directory: where a restart in progress is noted (`global/collect-<durable>.json`). */
  eventsDir: string;
  /** A work-queue stream holds only what is not acknowledged yet: its consumers deliver it all. */
  workQueue: boolean;
}

/**
 * The collector's durable consumer, created when missing. One left with messages delivered and not
 * acknowledged (a collector killed) is started again right after its ack floor: JetStream would
 * otherwise deliver them only after ack_wait, behind newer ones, and a collector recognises a
 * redelivered event by its id only while it is recent. Deleting and re-creating it is a step a crash
 * may cut: the start is noted in a file first, and a consumer found missing with that note is
 * re-created from it (never from the stream's beginning, which would deliver everything again).
 */
export async function ensureConsumer(jsm: JetStreamManager, s: ConsumerSettings): Promise<void> {
  const note = path.join(s.eventsDir, GLOBAL_DIR, collectRestartFileName(s.durable));
  const existing = await jsm.consumers.info(s.stream, s.durable).catch(() => undefined);
  if (existing !== undefined) {
    if (existing.config.filter_subject !== s.filter) {
      throw new DataError(
        `the consumer ${s.durable} collects ${existing.config.filter_subject ?? 'everything'}, not ${s.filter}`,
        { hint: 'use --durable NAME for a collector of other jobs' },
      );
    }
    if (existing.num_ack_pending === 0) return;
    // A work queue has removed what was acknowledged: delivering all is starting after the ack floor.
    const startSeq = s.workQueue ? undefined : existing.ack_floor.stream_seq + 1;
    await fs.mkdir(path.dirname(note), { recursive: true });
    await writeFileAtomic(
      note,
      JSON.stringify({ stream: s.stream, durable: s.durable, start_seq: startSeq ?? null }) + '\n',
    );
    await jsm.consumers.delete(s.stream, s.durable);
    await addConsumer(jsm, s, startSeq);
  } else {
    await addConsumer(jsm, s, await notedStart(note, s));
  }
  await fs.rm(note, { force: true });
}

async function addConsumer(
  jsm: JetStreamManager,
  s: ConsumerSettings,
  startSeq: number | undefined,
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: s.durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(s.ackWaitMs),
    max_ack_pending: s.maxAckPending,
    filter_subject: s.filter,
    ...(startSeq === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
  };
  try {
    await jsm.consumers.add(s.stream, config);
  } catch (err) {
    throw new RemoteError(`cannot create the consumer ${s.durable}: ${messageOf(err)}`, { cause: err });
  }
}

/** The start a cut restart noted for this consumer, if any. */
async function notedStart(note: string, s: ConsumerSettings): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(note, 'utf8');
  } catch {
    return undefined;
  }
  const noted = JSON.parse(text) as { stream?: unknown; start_seq?: unknown };
  if (noted.start_seq === null && noted.stream === s.stream) return undefined;
  if (noted.stream !== s.stream || !Number.isSafeInteger(noted.start_seq)) {
    throw new DataError(`${note} does not note a restart of ${s.durable} on ${s.stream}`, {
      hint: 'remove it if no collector of that name is in the middle of a restart',
    });
  }
  return noted.start_seq as number;
}
