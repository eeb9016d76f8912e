/**
 * Typed errors of the library. Each class names one kind of trouble; the CLI maps the `kind` of an
 * error to an exit code in exactly one place (src/cli/exit-codes.ts).
 */
export type ErrorKind = 'usage' | 'not_found' | 'data' | 'io' | 'busy' | 'internal';

export class EventsError extends Error {
  readonly kind: ErrorKind = 'internal';
  /** A short hint for the user, printed by the CLI after the message. */
  hint?: string;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/** A job id, stream id or other argument is not acceptable. */
export class InvalidArgumentError extends EventsError {
  override readonly kind = 'usage';
}

/** An event does not match the schema of its type. Nothing was written. */
export class EventValidationError extends EventsError {
  override readonly kind = 'usage';
  constructor(
    readonly eventType: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`invalid ${eventType} event: ${field === '' ? 'event' : field}: ${problem}`);
  }
}

/** The events directory, a job or an event that was asked for does not exist. */
export class NotFoundError extends EventsError {
  override readonly kind = 'not_found';
}

/** What is on disk is not what the format promises (unknown version, broken manifest, ...). */
export class DataError extends EventsError {
  override readonly kind = 'data';
}

/** Another live process holds the stream (or the lock) that was asked for. */
export class LockedError extends EventsError {
  override readonly kind = 'busy';
}

/**
 * The disk refused a write, a sync or a file operation. `code` is the errno code (ENOSPC, EIO, ...),
 * so callers can tell a full disk from a deleted directory.
 */
export class WriteError extends EventsError {
  override readonly kind = 'io';
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.code = code;
  }
}

/** The log was closed (or failed for good) before the operation could run. */
export class LogClosedError extends EventsError {
  override readonly kind = 'usage';
}

export function errnoCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return 'EUNKNOWN';
}

/** An error as it crosses a thread (a worker's postMessage keeps neither its class nor its fields). */
export interface SerializedError {
  name: string;
  kind: ErrorKind;
  message: string;
  hint?: string;
  code?: string;
  eventType?: string;
  field?: string;
  problem?: string;
}

const BY_NAME: Record<string, { prototype: EventsError }> = {
  InvalidArgumentError,
  EventValidationError,
  NotFoundError,
  DataError,
  LockedError,
  WriteError,
  LogClosedError,
};

/** A subclass the other side may not know comes back as the class of its kind. */
const BY_KIND: Record<ErrorKind, { prototype: EventsError }> = {
  usage: InvalidArgumentError,
  not_found: NotFoundError,
  data: DataError,
  io: WriteError,
  busy: LockedError,
  internal: EventsError,
};

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', kind: 'internal', message: String(err) };
  const { hint, code, eventType, field, problem } = err as Partial<SerializedError>;
  const kind = err instanceof EventsError ? err.kind : 'internal';
  return { name: err.name, kind, message: err.message, hint, code, eventType, field, problem };
}

/** The typed error again: its class (or its kind's) and its fields, as the CLI maps them to exit codes. */
export function deserializeError(serialized: SerializedError): EventsError {
  const cls = BY_NAME[serialized.name] ?? BY_KIND[serialized.kind] ?? EventsError;
  const error = Object.create(cls.prototype) as EventsError;
  for (const [key, value] of Object.entries(serialized)) {
    if (value !== undefined) Object.defineProperty(error, key, { value, writable: true, configurable: true });
  }
  Object.defineProperty(error, 'stack', {
    value: `${serialized.name}: ${serialized.message}`,
    writable: true,
  });
  return error;
}
