import { DataError, InvalidArgumentError } from '../format/errors.js';
import { isValidId } from '../format/ids.js';

/**
 * A position in every stream of every job read (docs/cli.md, query --cursor-file): the last seq consumed per stream,
 * and the log id of each job so a cursor from another log is refused rather than misapplied.
 */
export type Cursor = Record<string, { log: string; streams: Record<string, number> }>;

const PREFIX = 'c1.';

export function encodeCursor(cursor: Cursor): string {
  return PREFIX + Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const trimmed = text.trim();
  const bad = (why: string) => new InvalidArgumentError(`not a cursor (${why}): "${trimmed.slice(0, 40)}"`);
  if (!trimmed.startsWith(PREFIX)) throw bad(`cursors start with ${PREFIX}`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(trimmed.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw bad('it does not decode');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('wrong shape');
  for (const [job, entry] of Object.entries(value as Record<string, unknown>)) {
    const e = entry as { log?: unknown; streams?: unknown } | null;
    if (
      !isValidId(job) ||
      typeof e?.log !== 'string' ||
      typeof e.streams !== 'object' ||
      e.streams === null
    ) {
      throw bad('wrong shape');
    }
    for (const [stream, seq] of Object.entries(e.streams)) {
      if (!isValidId(stream) || !Number.isSafeInteger(seq) || (seq as number) < 0) throw bad('wrong shape');
    }
  }
  return value as Cursor;
}

/** Refuses a cursor made for another log of the same job name (a job deleted and recreated). */
export function checkCursorLog(cursor: Cursor, job: string, logId: string): void {
  const entry = cursor[job];
  if (entry !== undefined && entry.log !== logId) {
    throw new DataError(
      `the cursor was made for another log of job ${job} (log ${entry.log}, now ${logId})`,
      {
        hint: 'drop the cursor to read the job from its beginning',
      },
    );
  }
}
