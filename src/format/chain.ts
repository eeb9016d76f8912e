import crypto from 'node:crypto';
import fs from 'node:fs';
import { DataError } from './errors.js';

/** Length of a `prev` value: the first 32 hex characters (128 bits) of a SHA-256. */
export const PREV_HEX_LENGTH = 32;

// crypto.hash (one call, no Hash object) is twice as fast for short lines; Node 20.12+ has it.
const oneShot = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

/** docs/format.md section 5: `prev` of a line is the SHA-256 of the previous line's bytes, without `\n`. */
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

/** How a log's `prev` values are computed: a plain SHA-256, or an HMAC with the writers' key. */
export interface Chain {
  keyed: boolean;
  hash(line: string | Uint8Array): string;
  genesis(logId: string, stream: string): string;
}

export const SHA256_CHAIN: Chain = { keyed: false, hash: hashLine, genesis: genesisHash };

/** The keyed chain: someone who can write the files but lacks the key cannot recompute it. */
export function keyedChain(key: Buffer): Chain {
  const hash = (line: string | Uint8Array) =>
    crypto.createHmac('sha256', key).update(line).digest('hex').slice(0, PREV_HEX_LENGTH);
  return { keyed: true, hash, genesis: (logId, stream) => hash(`mmm-events/1\n${logId}\n${stream}`) };
}

/** What LOG.json keeps to recognise the key (not the key, nor enough to recompute the chain). */
export function keyCheckOf(key: Buffer): string {
  return crypto.createHmac('sha256', key).update('mmm-events/key-check').digest('hex').slice(0, 16);
}

/** The key from `EVENTS_HMAC_KEY`, or the file named by `EVENTS_HMAC_KEY_FILE`; undefined without. */
export function chainKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  if (env.EVENTS_HMAC_KEY !== undefined && env.EVENTS_HMAC_KEY !== '')
    return Buffer.from(env.EVENTS_HMAC_KEY);
  const file = env.EVENTS_HMAC_KEY_FILE;
  return file === undefined || file === '' ? undefined : Buffer.from(fs.readFileSync(file, 'utf8').trim());
}

/** The chain of a log, by its LOG.json; a keyed log needs its key (DataError without or with another). */
export function chainOf(
  manifest: { job_id: string; chain?: string; key_check?: string },
  key: Buffer | undefined = chainKeyFromEnv(),
): Chain {
  if (manifest.chain !== 'hmac-sha256') return SHA256_CHAIN;
  if (key === undefined) {
    throw new DataError(`the log of job ${manifest.job_id} has a keyed chain`, {
      hint: 'set EVENTS_HMAC_KEY (or EVENTS_HMAC_KEY_FILE) to its key to check or extend it',
    });
  }
  if (keyCheckOf(key) !== manifest.key_check) {
    throw new DataError(`EVENTS_HMAC_KEY is not the key of job ${manifest.job_id}'s log`);
  }
  return keyedChain(key);
}
