import { InvalidArgumentError } from './errors.js';
import { parseJobDirName, RESERVED_JOB_IDS } from './paths.js';

/** docs/format.md section 1: job and stream ids are safe file name parts, never paths. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type IdKind = 'job id' | 'stream id';

/** Throws an InvalidArgumentError naming the id when it could escape or break a path. */
export function assertValidId(kind: IdKind, value: unknown): string {
  if (typeof value !== 'string')
    throw new InvalidArgumentError(`${kind} must be a string, got ${typeof value}`);
  if (ID_PATTERN.test(value)) {
    if (kind === 'job id' && isReservedJobId(value)) {
      throw new InvalidArgumentError(
        `invalid job id ${JSON.stringify(value)}: the log uses that name itself`,
        {
          hint: `choose another job id; ${RESERVED_JOB_IDS.join(', ')} (in any case) cannot be one`,
        },
      );
    }
    return value;
  }
  throw new InvalidArgumentError(`invalid ${kind} ${JSON.stringify(value)}: ${whyInvalid(value)}`, {
    hint: 'ids are 1-128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
  });
}

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** A name the log gives one of its own entries of `<dir>` (format.md section 1), in any case. */
function isReservedJobId(value: string): boolean {
  return RESERVED_JOB_IDS.includes(value.toLowerCase());
}

const LOG_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The name of a job directory: a job id, or `<job id>@<log id>` for an archived log whose job id was
 * reused (format.md section 10). Readers accept both; writers only open job ids.
 */
export function isJobDirName(name: string): boolean {
  const { jobId, logId } = parseJobDirName(name);
  return (
    ID_PATTERN.test(jobId) && !isReservedJobId(jobId) && (logId === undefined || LOG_ID_PATTERN.test(logId))
  );
}

/** Throws an InvalidArgumentError unless `name` can name a job directory (see isJobDirName). */
export function assertJobDirName(name: unknown): string {
  if (typeof name === 'string' && isJobDirName(name)) return name;
  if (typeof name === 'string' && !name.includes('@')) return assertValidId('job id', name);
  throw new InvalidArgumentError(`invalid job ${JSON.stringify(name)}: not a job id, nor <job id>@<log id>`, {
    hint: "'events jobs' lists the jobs there",
  });
}

function whyInvalid(value: string): string {
  if (value === '') return 'it is empty';
  if (value.length > 128) return `it is ${value.length} characters long (at most 128)`;
  if (value.includes('\0')) return 'it contains a NUL byte';
  if (value.includes('/') || value.includes('\\')) return 'it contains a path separator';
  if (value === '.' || value === '..' || value.startsWith('.')) return 'it starts with "."';
  if (/\s/.test(value)) return 'it contains whitespace';
  if (!/^[A-Za-z0-9]/.test(value)) return 'it must start with a letter or digit';
  return 'only letters, digits, ".", "_" and "-" are allowed';
}

/** Turns an arbitrary string (a host name) into something that passes as an id. */
export function sanitizeIdPart(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned === '' ? 'host' : cleaned).slice(0, 96);
}
