import { EventValidationError, toError } from '../format/errors.js';
import type { EventInput } from '../format/schema/input.js';
import type { AppendOutcome, EventLog } from '../write/writer.js';

/** What ingest writes to: a local EventLog, or a remote writer with the same appendMany() and close(). */
export type IngestLog = Pick<EventLog, 'appendMany' | 'close'>;
import { splitLines, untilAborted, type LineChunk, type LineProblem } from './lines.js';

/** How `ingest` ends: counts, and the failure (a disk, a closed log) that stopped it early, if one did. */
export interface IngestResult {
  /** Input lines read (the number of acknowledgements written). */
  lines: number;
  written: number;
  /** Lines refused: not JSON, not a valid event, too long, not UTF-8. */
  refused: number;
  /** Blank lines (acknowledged as skipped; nothing written). */
  blank: number;
  /** A failure that is not the line's fault: ingest stops reading at it. */
  failure?: unknown;
}

export interface IngestOptions {
  /** Lines longer than this are refused without being held in memory. Default 1 MiB + 64 KiB. */
  maxLineBytes?: number;
  /**
   * Lines read and not yet acknowledged, past which reading pauses. Default 2,500: few enough that
   * their objects die young in the garbage collector, enough for a batch of a megabyte.
   */
  maxInFlight?: number;
  /**
   * ... and bytes of input lines read and not yet acknowledged. Default 1 MiB: what a killed ingest may
   * have written without acknowledging stays well inside the tail a restarted writer reads for the ids
   * a resend repeats (the last 4 MiB of the stream, docs/library.md).
   */
  maxInFlightBytes?: number;
  /** Aborting stops reading; what was read is still written and acknowledged. */
  signal?: AbortSignal;
}

/**
 * One chunk of input lines on its way: the acknowledgements known without appending (refusals, blank
 * lines) by line, and one appendMany() for the rest (`appended[i]` is the line of outcome i).
 */
interface Pending {
  acks: (string | undefined)[];
  /** The length of the chunk's lines (UTF-16 units: bytes for the ASCII of JSON, near enough). */
  bytes: number;
  firstLine: number;
  appended: number[];
  outcomes?: AppendOutcome[];
  settled: Promise<void>;
  blank: number;
}

/**
 * Appends the JSONL events of `source` (append()'s input shape, one per line) to `log`, and hands
 * `acknowledge` one line per input line, in input order (docs/cli.md, events ingest):
 * `{"line":n,"seq":…,"id":…}` once `append()` resolved (durable, in `fsync` mode), `{"line":n,"error":…}`
 * for a line that was refused (reading goes on). Everything in the pipe is appended before the first
 * acknowledgement is awaited, so the log's group commit writes it in few batches.
 */
export function ingest(
  log: IngestLog,
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  acknowledge: (acks: string) => void | Promise<void>,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const chunks = splitLines(source, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  return ingestChunks(log, chunks, acknowledge, options);
}

/** The longest input line ingest reads: maxLineBytes' default and room for escapes. */
const DEFAULT_MAX_LINE_BYTES = 1024 * 1024 + 64 * 1024;

async function ingestChunks(
  log: IngestLog,
  chunks: AsyncIterable<LineChunk>,
  acknowledge: (acks: string) => void | Promise<void>,
  options: IngestOptions,
): Promise<IngestResult> {
  const result: IngestResult = { lines: 0, written: 0, refused: 0, blank: 0 };
  const maxInFlight = options.maxInFlight ?? 2_500;
  const queue: Pending[] = [];
  let head = 0;
  let readingDone = false;
  // Two one-shot signals: lines were queued (for the acknowledger), acknowledgements went out (for the reader).
  const queued = new Signal();
  const acked = new Signal();
  const maxInFlightBytes = options.maxInFlightBytes ?? 1024 * 1024;
  let bytesInFlight = 0;
  const full = () =>
    result.lines - result.written - result.refused - result.blank > maxInFlight ||
    bytesInFlight > maxInFlightBytes;

  const acknowledger = (async () => {
    for (;;) {
      const first = queue[head];
      if (first === undefined) {
        if (readingDone) return;
        await queued.wait();
        continue;
      }
      await first.settled;
      let text = '';
      let bytes = 0;
      for (let next = queue[head]; next?.outcomes !== undefined; next = queue[++head]) {
        text += acksOf(next, result);
        bytes += next.bytes;
      }
      if (head > 16) {
        queue.splice(0, head);
        head = 0;
      }
      await acknowledge(text);
      bytesInFlight -= bytes;
      acked.fire();
    }
  })().catch((err: unknown) => {
    // Acknowledgements that cannot be given stop the reading too (the reader may be waiting for them).
    result.failure ??= err;
    acked.fire();
  });

  try {
    for await (const chunk of untilAborted(chunks, options.signal)) {
      const pending = start(log, chunk);
      bytesInFlight += pending.bytes;
      queue.push(pending);
      result.lines += chunk.lines.length;
      queued.fire();
      while (full() && result.failure === undefined) await acked.wait();
      if (result.failure !== undefined) break;
    }
  } finally {
    readingDone = true;
    queued.fire();
    await acknowledger;
  }
  return result;
}

/** A one-shot wake-up that a waiter re-arms by waiting again. */
class Signal {
  private resolve: (() => void) | undefined;
  wait(): Promise<void> {
    return new Promise((resolve) => (this.resolve = resolve));
  }
  fire(): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.();
  }
}

/** Parses a chunk of lines and appends the events among them, all at once. */
function start(log: IngestLog, chunk: LineChunk): Pending {
  const { first, lines } = chunk;
  const acks: (string | undefined)[] = new Array<string | undefined>(lines.length);
  const events: unknown[] = [];
  const appended: number[] = [];
  let blank = 0;
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string | LineProblem;
    if (typeof line !== 'string') {
      acks[i] = errorAck(first + i, line.problem);
      continue;
    }
    bytes += line.length + 1;
    if (line.trim() === '') {
      acks[i] = `{"line":${first + i},"skipped":"blank line"}\n`;
      blank++;
    } else {
      try {
        events.push(JSON.parse(line));
        appended.push(i);
      } catch (err) {
        acks[i] = errorAck(first + i, `not JSON: ${(err as Error).message}`);
      }
    }
  }
  const pending: Pending = { acks, bytes, firstLine: first, appended, blank, settled: Promise.resolve() };
  // Only the count is kept: the parsed events die young once appended (the batch holds its records).
  const count = events.length;
  pending.settled = log.appendMany(events as EventInput[]).then(
    (outcomes) => {
      pending.outcomes = outcomes;
    },
    // The log was closed under us: every event of the chunk is refused with that.
    (err: unknown) => {
      const error = toError(err);
      pending.outcomes = new Array<AppendOutcome>(count).fill(error);
    },
  );
  return pending;
}

/** The chunk's acknowledgements, in line order; counts them into `result`. */
function acksOf(pending: Pending, result: IngestResult): string {
  const { acks, appended, outcomes = [] } = pending;
  let written = 0;
  for (let k = 0; k < appended.length; k++) {
    const i = appended[k] as number;
    const n = pending.firstLine + i;
    const outcome = outcomes[k] as AppendOutcome;
    if (outcome instanceof Error) {
      // Not the line's fault (a disk, a closed log): reading stops; what is in flight is still answered.
      if (!(outcome instanceof EventValidationError)) result.failure ??= outcome;
      acks[i] = errorAck(n, outcome.message);
    } else {
      written++;
      acks[i] =
        `{"line":${n},"seq":${outcome.seq},"id":${JSON.stringify(outcome.id)},"stream":"${outcome.stream}"}\n`;
    }
  }
  result.written += written;
  result.blank += pending.blank;
  result.refused += acks.length - written - pending.blank;
  return acks.join('');
}

function errorAck(n: number, message: string): string {
  return `{"line":${n},"error":${JSON.stringify(message)}}\n`;
}
