import { InvalidArgumentError } from '../format/errors.js';
import { SkippedLocalTimeError } from '../format/time-parse.js';
import { FilterError } from '../read/filter-error.js';

/**
 * The library names a bad value in its own terms (a field of a filter); the CLI names the flag it
 * came from, and says what to do with flags (issue 12 point 6: core errors never name CLI flags).
 */
export function withFlagNames(err: unknown): unknown {
  if (err instanceof FilterError) {
    return err.field === 'where'
      ? new InvalidArgumentError(`--where ${err.detail}`, { cause: err })
      : new InvalidArgumentError(`--grep: ${err.detail}`, { cause: err, hint: 'use --fixed for plain text' });
  }
  // Time flags all take --utc, which reads a local time that a clock change skips as UTC instead.
  if (err instanceof SkippedLocalTimeError)
    return new InvalidArgumentError(`${err.message} or use --utc`, { cause: err });
  return err;
}
