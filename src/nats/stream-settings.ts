import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { DataError, RemoteError } from '../format/errors.js';
import { messageOf } from './connection.js';

/** The JetStream stream a collector reads and creates when missing (docs/deployment.md). */
export const DEFAULT_NATS_STREAM = 'MMM_EVENTS';

export interface StreamSettings {
  name: string;
  prefix: string;
  /** 1 for one server; 3 in a production cluster. */
  replicas: number;
  /** The stream's size limit (-1: none); when full, publishes are refused, never old events dropped. */
  maxBytes: number;
  /** How long JetStream remembers a message id to drop a repeat. */
  duplicateWindowMs: number;
}

/** The stream `events collect` creates when given no settings (and a writer, when it starts first). */
export function defaultStreamSettings(prefix: string): StreamSettings {
  return { name: DEFAULT_NATS_STREAM, prefix, replicas: 1, maxBytes: -1, duplicateWindowMs: 120_000 };
}

/** The settings `events collect` creates a stream with: file storage, nothing ever dropped. */
export function streamConfigOf(s: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: s.name,
    subjects: [`${s.prefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msgs: -1,
    max_bytes: s.maxBytes,
    max_age: 0,
    max_msgs_per_subject: -1,
    duplicate_window: nanos(s.duplicateWindowMs),
    num_replicas: s.replicas,
  };
}

/**
 * The stream's settings that could lose an event before it is collected: an empty list when none.
 * Work-queue retention is accepted (a message goes once collected); interest retention is not (a
 * message published while no collector listens is dropped at once).
 */
export function lossySettings(config: StreamConfig, prefix: string): string[] {
  const problems: string[] = [];
  if (config.storage === StorageType.Memory)
    problems.push('memory storage loses every event when the server restarts');
  if (config.retention === RetentionPolicy.Interest) {
    problems.push('interest retention drops what is published while no collector is subscribed');
  }
  if (config.max_age > 0) problems.push('max_age removes events whether or not they were collected');
  const limited = config.max_msgs > 0 || config.max_bytes > 0 || config.max_msgs_per_subject > 0;
  if (config.discard === DiscardPolicy.Old && limited) {
    problems.push('discard old with a size limit drops the oldest events, collected or not');
  }
  if (config.no_ack === true) problems.push('no_ack: publishes are never acknowledged');
  if (!config.subjects.some((s) => s === '>' || s === `${prefix}.>`)) {
    problems.push(`its subjects (${config.subjects.join(', ')}) do not take ${prefix}.>`);
  }
  return problems;
}

/** Creates the stream when it is missing; refuses (DataError) one whose settings would lose events. */
export async function ensureStream(
  jsm: JetStreamManager,
  settings: StreamSettings,
): Promise<{ workQueue: boolean }> {
  let config: StreamConfig;
  try {
    config = (await jsm.streams.info(settings.name)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) {
      throw new RemoteError(`cannot read JetStream stream ${settings.name}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    try {
      await jsm.streams.add(streamConfigOf(settings));
    } catch (addErr) {
      throw new RemoteError(`cannot create JetStream stream ${settings.name}: ${messageOf(addErr)}`, {
        cause: addErr,
      });
    }
    return { workQueue: false };
  }
  const problems = lossySettings(config, settings.prefix);
  if (problems.length > 0) {
    throw new DataError(`JetStream stream ${settings.name} would lose events: ${problems.join('; ')}`, {
      hint: 'change it (nats stream edit), or collect from another stream with --nats-stream',
    });
  }
  return { workQueue: config.retention === RetentionPolicy.Workqueue };
}
