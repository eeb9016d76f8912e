import { CommanderError } from 'commander';
import { EventsError, type ErrorKind } from '../format/errors.js';

/** The one table of exit codes (docs/exit-codes.md). */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  data: 4,
  io: 5,
  busy: 6,
  interrupted: 130,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  usage: EXIT.usage,
  not_found: EXIT.notFound,
  data: EXIT.data,
  io: EXIT.io,
  busy: EXIT.busy,
  internal: EXIT.internal,
};

/** Maps any error to an exit code and the one line (plus hint) to print. */
export function describeError(err: unknown): { code: number; message: string | undefined } {
  if (err instanceof CommanderError) {
    // Commander has printed its own message (help, version, or a bad flag).
    return { code: err.exitCode === 0 ? EXIT.ok : EXIT.usage, message: undefined };
  }
  if (err instanceof EventsError) {
    const hint = err.hint === undefined ? '' : ` (${err.hint})`;
    return { code: BY_KIND[err.kind], message: `events: ${err.message}${hint}` };
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return { code: EXIT.io, message: `events: ${(err as Error).message}` };
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { code: EXIT.internal, message: `events: internal error (please report it): ${detail}` };
}
