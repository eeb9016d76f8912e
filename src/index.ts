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
