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

/** What was thrown, as an Error (a library may throw anything). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function errnoCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return 'EUNKNOWN';
}

/**
 * NATS could not be reached, or JetStream refused or did not confirm a publish in time: nothing is
 * known to be durable (the CLI exits 5, as for a disk). Retrying with the same event id is safe:
 * JetStream and the collector de-duplicate it.
 */
export class RemoteError extends EventsError {
  override readonly kind = 'io';
  /** True when waiting will not help: credentials or a certificate refused, not a server down. */
  lasting = false;
}
