import crypto from 'node:crypto';

/** Length of a `prev` value: the first 32 hex characters (128 bits) of a SHA-256. */
export const PREV_HEX_LENGTH = 32;

// crypto.hash (one call, no Hash object) is twice as fast for short lines; Node 20.12+ has it.
const oneShot = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

/** DESIGN.md section 2: `prev` of a line is the SHA-256 of the previous line's bytes, without `\n`. */
export function hashLine(line: string | Uint8Array): string {
  const hex =
    oneShot !== undefined
      ? oneShot('sha256', line, 'hex')
      : crypto.createHash('sha256').update(line).digest('hex');
  return hex.slice(0, PREV_HEX_LENGTH);
}

/** The `prev` of the first line of a stream. */
export function genesisHash(logId: string, stream: string): string {
  return hashLine(`mmm-events/1\n${logId}\n${stream}`);
}
