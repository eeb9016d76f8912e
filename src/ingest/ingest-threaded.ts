import { Worker } from 'node:worker_threads';
import { deserializeError, EventsError } from '../format/errors.js';
import { DEFAULT_MAX_LINE_BYTES, type IngestOptions, type IngestResult } from './ingest.js';
import { splitLines, untilAborted } from './lines.js';
import type { FromWorker, ToWorker, WorkerLogOptions } from './worker-protocol.js';

/**
 * ingest() on both cores: this thread reads and splits the input and writes the acknowledgements; a
 * worker thread owns the log (parse, validate, form, hash, write, sync). Same contract as ingest():
 * one acknowledgement per line, in order, each once its event is durable. The worker gets a young
 * generation of its own size: its garbage dies young there, whatever this process was started with.
 */
export async function ingestInWorker(
  logOptions: WorkerLogOptions,
  source: AsyncIterable<Buffer | string>,
  acknowledge: (acks: string) => void | Promise<void>,
  options: IngestOptions = {},
): Promise<IngestResult & { stream: string }> {
  const worker = new Worker(new URL('./ingest-worker.js', import.meta.url), {
    workerData: { options: logOptions },
    resourceLimits: { maxYoungGenerationSizeMb: 64 },
    stderr: false,
  });
  const events = new WorkerEvents(worker, acknowledge);
  try {
    const stream = await events.opened;
    const maxInFlight = options.maxInFlight ?? 5_000;
    let sent = 0;
    for await (const chunk of untilAborted(
      splitLines(source, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
      options.signal,
    )) {
      if (events.finished) break;
      worker.postMessage({ type: 'lines', chunk } satisfies ToWorker);
      sent += chunk.lines.length;
      while (sent - events.acked > maxInFlight && !events.finished) await events.progress();
    }
    worker.postMessage({ type: 'end' } satisfies ToWorker);
    const { result, failure } = await events.done;
    return { ...result, stream, ...(failure === undefined ? {} : { failure }) };
  } finally {
    await worker.terminate();
  }
}

type Done = { result: Omit<IngestResult, 'failure'>; failure?: EventsError };

/** The worker's messages, as promises and counters the reading loop awaits. */
class WorkerEvents {
  acked = 0;
  /** The worker is done (or gone): nothing more will be acknowledged. */
  finished = false;
  readonly opened: Promise<string>;
  readonly done: Promise<Done>;
  private resolveOpened!: (stream: string) => void;
  private resolveDone!: (done: Done) => void;
  private rejectBoth!: (error: unknown) => void;
  private acks: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;

  constructor(worker: Worker, acknowledge: (acks: string) => void | Promise<void>) {
    let rejectOpened!: (error: unknown) => void;
    let rejectDone!: (error: unknown) => void;
    this.opened = new Promise((resolve, reject) => {
      this.resolveOpened = resolve;
      rejectOpened = reject;
    });
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      rejectDone = reject;
    });
    this.done.catch(() => {}); // awaited only once the worker opened the log
    this.rejectBoth = (error) => {
      this.stop();
      rejectOpened(error);
      rejectDone(error);
    };
    worker.on('message', (message: FromWorker) => this.onMessage(message, acknowledge));
    worker.on('error', (err) =>
      this.rejectBoth(new EventsError(`the ingest worker failed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', () => {
      if (!this.finished) this.rejectBoth(new EventsError('the ingest worker ended before it was done'));
    });
  }

  /** Resolves at the next acknowledgement (or when the worker is done). */
  progress(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private onMessage(message: FromWorker, acknowledge: (acks: string) => void | Promise<void>): void {
    switch (message.type) {
      case 'opened':
        return this.resolveOpened(message.stream);
      case 'failed':
        return this.rejectBoth(deserializeError(message.error));
      case 'acks':
        // In order, one write at a time (acknowledge may wait for a slow reader of stdout).
        this.acks = this.acks.then(async () => {
          await acknowledge(message.text);
          this.acked += message.lines;
          this.kick();
        });
        return;
      case 'done': {
        const failure = message.failure === undefined ? undefined : deserializeError(message.failure);
        void this.acks.then(() => {
          this.stop();
          this.resolveDone({ result: message.result, failure });
        });
      }
    }
  }

  private stop(): void {
    this.finished = true;
    this.kick();
  }

  private kick(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
