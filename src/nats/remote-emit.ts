import os from 'node:os';
import { sanitizeIdPart } from '../format/ids.js';
import { validateEvent, type EventInput } from '../format/schema/input.js';
import type { Receipt } from '../write/options.js';
import { RemoteEventLog, type RemoteLogOptions } from './remote-log.js';

/**
 * One event through JetStream (`events emit --nats`): resolves once JetStream acknowledged it. Without
 * a stream, the host's `emit-<host>` stream, so that a script's emits go to one stream, not one per
 * process (several writers may share a stream: the collector writes them in JetStream's order).
 */
export async function emitRemote(
  options: Omit<RemoteLogOptions, 'stream'> & { stream?: string },
  event: EventInput,
): Promise<Receipt> {
  validateEvent(event);
  const log = await RemoteEventLog.open({ ...options, stream: options.stream ?? emitStreamOfHost() });
  try {
    return await log.append(event);
  } finally {
    await log.close();
  }
}

/** `emit-<host>`, an id (format.md section 1). */
export function emitStreamOfHost(): string {
  return `emit-${sanitizeIdPart(os.hostname())}`;
}
