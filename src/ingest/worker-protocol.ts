import type { SerializedError } from '../format/errors.js';
import type { EventLogOptions } from '../write/writer.js';
import type { IngestResult } from './ingest.js';
import type { LineChunk } from './lines.js';

/** What the ingest worker is started with: the log to open (options that survive a postMessage). */
export type WorkerLogOptions = Omit<EventLogOptions, 'onError' | 'sinks' | 'echo'>;

/** Main thread → worker. */
export type ToWorker = { type: 'lines'; chunk: LineChunk } | { type: 'end' };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'opened'; stream: string }
  | { type: 'acks'; text: string; lines: number }
  | { type: 'done'; result: Omit<IngestResult, 'failure'>; failure?: SerializedError }
  | { type: 'failed'; error: SerializedError };
