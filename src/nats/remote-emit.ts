import os from 'node:os';
import { LockedError } from '../format/errors.js';
import { sanitizeIdPart } from '../format/ids.js';
import { validateEvent, type EventInput } from '../format/schema/input.js';
import type { Receipt } from '../write/options.js';
import { RemoteEventLog, type RemoteLogOptions } from './remote-log.js';

/** How many times an emit starts again when another emit of this host published first. */
const CLAIM_ATTEMPTS = 50;

/**
 * One event through JetStream (`events emit --nats`): resolves once JetStream acknowledged it. Without
 * a stream, the host's `emit-<host>` stream, so that a script's emits continue one stream, not one per
 * process; emits racing for it take turns (JetStream refuses the one that lost, which starts again).
 */
export async function emitRemote(
  options: Omit<RemoteLogOptions, 'stream'> & { stream?: string },
  event: EventInput,
): Promise<Receipt> {
  validateEvent(event);
  const stream = options.stream ?? emitStreamOfHost();
  for (let attempt = 1; ; attempt++) {
    const log = await RemoteEventLog.open({ ...options, stream });
    try {
      return await log.append(event);
    } catch (err) {
      if (!(err instanceof LockedError) || attempt >= CLAIM_ATTEMPTS) throw err;
    } finally {
      await log.close();
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
  }
}

/** `emit-<host>`, an id (format.md section 1). */
export function emitStreamOfHost(): string {
  return `emit-${sanitizeIdPart(os.hostname())}`;
}
