/**
 * `mmm-events/nats` (docs/deployment.md): writing from any machine through NATS JetStream, and the
 * collector that appends what arrives to the local log. A subpath of its own, so that importing the
 * library does not load the NATS client.
 */
export { RemoteEventLog, type RemoteLogOptions } from './remote-log.js';
export { emitRemote } from './remote-emit.js';
export { collect, type CollectOptions, type CollectResult, type CollectNotice } from './collector.js';
export type { NatsOptions } from './connection.js';
export {
  DEFAULT_NATS_STREAM,
  lossySettings,
  streamConfigOf,
  type StreamSettings,
} from './stream-settings.js';
export { DEFAULT_SUBJECT_PREFIX, subjectOf } from './subjects.js';
export { RemoteError } from '../format/errors.js';
