// The public library API of mmm-events, by name: write, read, verify, maintain, understand (insight),
// and the format's own vocabulary (errors, ids, schemas, names) they share. Internals stay unexported.

// Writing
export {
  EventLog,
  type EventLogOptions,
  type Durability,
  type Receipt,
  type AppendOutcome,
} from './write/writer.js';
export { emitEvent, EMIT_STREAM, type EmitOptions } from './ingest/emit.js';
export { ingest, type IngestOptions, type IngestResult } from './ingest/ingest.js';
export { withCorrelation, currentCorrelation } from './write/correlation.js';
export type { EchoOption } from './write/echo.js';
export { SinkError, type EventSink, type SinkStats } from './write/sinks.js';

// The format: errors, ids, event schemas, records, the chain, names on disk
export {
  EventsError,
  InvalidArgumentError,
  EventValidationError,
  NotFoundError,
  DataError,
  LockedError,
  WriteError,
  LogClosedError,
  RemoteError,
  type ErrorKind,
} from './format/errors.js';
export { assertValidId, isValidId } from './format/ids.js';
export {
  dataSchemas,
  BUILTIN_EVENT_TYPES,
  isBuiltinEventType,
  type BuiltinEventType,
  type EventData,
} from './format/schema/data.js';
export { SEVERITIES, defaultSeverity, type Severity } from './format/schema/envelope.js';
export { recordSchema, type EventRecord } from './format/schema/record-schema.js';
export type { EventInput, BuiltinEventInput, CustomEventInput, JsonValue } from './format/schema/input.js';
export { genesisHash, hashLine } from './format/chain.js';
export { readManifest, type Manifest } from './storage/manifest.js';
export { DEFAULT_EVENTS_DIR, segmentFileName, parseSegmentFileName } from './format/paths.js';
export { parseRecord, serializeRecord } from './format/record.js';
export { summarizeEvent, formatEventPlain } from './format/summary.js';

// Reading
export { readEvents, EventReader, type ReadOptions, type ReadEvent } from './read/reader.js';
export { readLastEvents, lastOf } from './read/last.js';
export type { ReadStats } from './storage/line-reader.js';
export type { EventFilter } from './read/filter.js';
export { encodeCursor, decodeCursor, type Cursor } from './read/cursor.js';
export { followEvents, snapshotStreams, EventFollower, type FollowOptions } from './read/follow.js';
export { tailEvents, EventTail, type TailOptions, type JobOutcome } from './read/tail.js';
export { findEvent, parseEventRef, type EventRef, type FoundEvent } from './read/find.js';
export { listJobIds } from './storage/jobs-dir.js';
export { jobStatus, type JobStatus, type JobRunState } from './read/job-status.js';
export { locateEventsDir } from './read/locate.js';
export { parseTimeArg } from './format/time-parse.js';
export { exportEvents, EXPORT_FORMATS, type ExportFormat, type ExportSink } from './export/export.js';

// Understanding a job
export {
  replayJob,
  applyEvent,
  checkReplay,
  emptyJobState,
  type JobState,
  type ReplayOptions,
} from './insight/replay.js';
export { computeStats, StatsBuilder, type Stats } from './insight/stats.js';
export { groupErrors, type ErrorReport, type ErrorGroup } from './insight/errors.js';
export { normalizeMessage } from './insight/normalize.js';
export { timelineOf, type Timeline } from './insight/timeline.js';

// Verifying
export {
  verifyLog,
  parseExpectedHeads,
  type VerifyReport,
  type StreamReport,
  type Problem,
} from './verify/verify.js';

// Maintaining: rotation, indexes, retention
export { rotateJobs, type RotateReport } from './maintenance/rotate.js';
export { checkIndexes, rebuildIndexes, type IndexReport } from './maintenance/indexes.js';
export { prune, type PruneResult, type PruneItem } from './maintenance/prune.js';
export type { PrunePolicy } from './maintenance/prune-policy.js';
