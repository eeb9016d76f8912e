import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '../format/errors.js';
import { EventLog } from '../write/writer.js';
import { ingestChunks } from './ingest.js';
import type { LineChunk } from './lines.js';
import type { FromWorker, ToWorker, WorkerLogOptions } from './worker-protocol.js';

/**
 * The writing half of ingestInWorker: owns the log, parses, validates, forms, writes and syncs the
 * lines the main thread split, and posts their acknowledgements back, in order.
 */
const port = parentPort;
if (port === null) throw new Error('ingest-worker.js runs as a worker thread');
const post = (message: FromWorker) => port.postMessage(message);

/** The chunks the main thread sends, as an async iterable that ends at 'end'. */
async function* received(): AsyncGenerator<LineChunk> {
  const waiting: LineChunk[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  port?.on('message', (message: ToWorker) => {
    if (message.type === 'lines') waiting.push(message.chunk);
    else ended = true;
    wake?.();
  });
  for (;;) {
    const chunk = waiting.shift();
    if (chunk !== undefined) yield chunk;
    else if (ended) return;
    else await new Promise<void>((resolve) => (wake = resolve));
  }
}

const options = (workerData as { options: WorkerLogOptions }).options;
let log: EventLog | undefined;
try {
  log = await EventLog.open(options);
} catch (err) {
  post({ type: 'failed', error: serializeError(err) });
}
if (log !== undefined) {
  post({ type: 'opened', stream: log.stream });
  // The main thread bounds what is in flight; here everything received is appended at once.
  const { failure, ...result } = await ingestChunks(
    log,
    received(),
    (text, lines) => post({ type: 'acks', text, lines }),
    { maxInFlight: Infinity },
  );
  let closeFailure: unknown;
  try {
    await log.close();
  } catch (err) {
    closeFailure = err;
  }
  const failed = failure ?? closeFailure;
  post({ type: 'done', result, failure: failed === undefined ? undefined : serializeError(failed) });
}
port.close();
