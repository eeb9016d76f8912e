import { InvalidArgumentError } from '../format/errors.js';
import { assertValidId, isValidId } from '../format/ids.js';

/**
 * JetStream subjects of the log (docs/deployment.md): `<prefix>.<job>.<stream>`, one subject per job
 * and stream. Ids may hold `.`, the subject separator, and never `~`: a `.` is written `~`.
 */
export const DEFAULT_SUBJECT_PREFIX = 'mmm.events';

const PREFIX_PATTERN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

export function assertValidPrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new InvalidArgumentError(`invalid subject prefix ${JSON.stringify(prefix)}`, {
      hint: 'dot-separated tokens of letters, digits, "_" and "-", such as mmm.events',
    });
  }
  return prefix;
}

const token = (id: string) => id.replaceAll('.', '~');
const untoken = (t: string) => t.replaceAll('~', '.');

/** The subject a job's stream publishes on. */
export function subjectOf(prefix: string, jobId: string, stream: string): string {
  return `${prefix}.${token(assertValidId('job id', jobId))}.${token(assertValidId('stream id', stream))}`;
}

/** The job and stream a subject names, or undefined when it is not one of `prefix`'s. */
export function parseSubject(prefix: string, subject: string): { jobId: string; stream: string } | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const rest = subject.slice(prefix.length + 1).split('.');
  if (rest.length !== 2) return undefined;
  const [jobId, stream] = rest.map(untoken) as [string, string];
  return isValidId(jobId) && isValidId(stream) ? { jobId, stream } : undefined;
}

/**
 * What a collector consumes: everything under the prefix (a subject that names no job and stream is
 * refused and counted, not left behind unseen), or one job's subjects.
 */
export function filterOf(prefix: string, jobId: string | undefined): string {
  return jobId === undefined ? `${prefix}.>` : `${prefix}.${token(assertValidId('job id', jobId))}.*`;
}
