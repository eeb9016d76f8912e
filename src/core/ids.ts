import { InvalidArgumentError } from './errors.js';

/** DESIGN.md section 1: job and stream ids are safe file name parts, never paths. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type IdKind = 'job id' | 'stream id';

/** Throws an InvalidArgumentError naming the id when it could escape or break a path. */
export function assertValidId(kind: IdKind, value: unknown): string {
  if (typeof value !== 'string')
    throw new InvalidArgumentError(`${kind} must be a string, got ${typeof value}`);
  if (ID_PATTERN.test(value)) return value;
  throw new InvalidArgumentError(`invalid ${kind} ${JSON.stringify(value)}: ${whyInvalid(value)}`, {
    hint: 'ids are 1-128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
  });
}

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
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
