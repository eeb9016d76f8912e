// The public library API of mmm-events: everything a program or a test may use, by name.
export { EventLog, type EventLogOptions, type Durability, type Receipt } from './core/writer.js';
export { withCorrelation, currentCorrelation } from './core/correlation.js';
export type { EchoOption } from './core/echo.js';
export {
  EventsError,
  InvalidArgumentError,
  EventValidationError,
  NotFoundError,
  DataError,
  LockedError,
  WriteError,
  LogClosedError,
  type ErrorKind,
} from './core/errors.js';
export { assertValidId, isValidId } from './core/ids.js';
export {
  dataSchemas,
  BUILTIN_EVENT_TYPES,
  isBuiltinEventType,
  type BuiltinEventType,
  type EventData,
} from './core/schema/data.js';
export {
  recordSchema,
  SEVERITIES,
  defaultSeverity,
  type EventRecord,
  type Severity,
} from './core/schema/envelope.js';
export type { EventInput, BuiltinEventInput, CustomEventInput, JsonValue } from './core/schema/input.js';
export { genesisHash, hashLine } from './core/chain.js';
export { readManifest, type Manifest } from './core/manifest.js';
export { DEFAULT_EVENTS_DIR, segmentFileName, parseSegmentFileName } from './core/paths.js';
export { parseRecord, serializeRecord } from './core/record.js';
export { summarizeEvent, formatEventPlain } from './core/summary.js';

// Reading
export { readEvents, EventReader, type ReadOptions, type ReadEvent } from './core/read/reader.js';
export { readLastEvents, lastOf } from './core/read/last.js';
export type { ReadStats } from './core/line-reader.js';
export type { EventFilter } from './core/read/filter.js';
export { encodeCursor, decodeCursor, type Cursor } from './core/read/cursor.js';
export { followEvents, snapshotStreams, EventFollower, type FollowOptions } from './core/read/follow.js';
export { tailEvents, EventTail, type TailOptions, type JobOutcome } from './core/read/tail.js';
export { findEvent, parseEventRef, type EventRef, type FoundEvent } from './core/read/find.js';
export { listJobIds } from './core/read/jobs-dir.js';
export { jobStatus, type JobStatus, type JobRunState } from './core/read/job-status.js';
export { locateEventsDir } from './core/read/locate.js';
export { rotateJobs, type RotateReport } from './core/maintenance/rotate.js';
export { checkIndexes, rebuildIndexes, type IndexReport } from './core/maintenance/indexes.js';
export { prune, type PruneResult, type PruneItem } from './core/maintenance/prune.js';
export type { PrunePolicy } from './core/maintenance/prune-policy.js';
export { parseTimeArg } from './core/read/time-parse.js';
export { exportEvents, EXPORT_FORMATS, type ExportFormat, type ExportSink } from './core/export/export.js';

// Understanding a job
export {
  replayJob,
  applyEvent,
  checkReplay,
  emptyJobState,
  type JobState,
  type ReplayOptions,
} from './core/insight/replay.js';
export { computeStats, StatsBuilder, sparkline, type Stats } from './core/insight/stats.js';
export { groupErrors, type ErrorReport, type ErrorGroup } from './core/insight/errors.js';
export { normalizeMessage } from './core/insight/normalize.js';
export { timelineOf, drawTimeline, type Timeline } from './core/insight/timeline.js';
export {
  verifyLog,
  parseExpectedHeads,
  type VerifyReport,
  type StreamReport,
  type Problem,
} from './core/verify.js';
