import type { Writable } from 'node:stream';
import { EventsError } from '../format/errors.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { formatEventPlain } from '../format/summary.js';
import type { EventSink } from './sinks.js';

/** A second output for people watching a job live: every record, after the file has it. */
export type EchoOption =
  'pretty' | 'jsonl' | { format: 'pretty' | 'jsonl' | ((record: EventRecord) => string); stream?: Writable };

/** What the echo may hold unwritten before it drops lines (it must never slow the file log down). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export class EchoSinkError extends EventsError {}

/** The first sink (see EventSink): every record to stdout or a given stream, after the file has it. */
export class EchoSink implements EventSink {
  private dropped = 0;

  private constructor(
    private readonly format: (record: EventRecord, line: string) => string,
    private readonly stream: Writable,
    private readonly report: (error: EventsError) => void,
  ) {
    // A closed pipe (`| head`) must not crash the host program.
    stream.on('error', (err) => this.report(new EchoSinkError(`echo output failed: ${err.message}`)));
  }

  static create(option: EchoOption, report: (error: EventsError) => void): EchoSink {
    const spec = typeof option === 'string' ? { format: option } : option;
    const stream = spec.stream ?? process.stdout;
    const format =
      spec.format === 'jsonl'
        ? (_: EventRecord, line: string) => line
        : spec.format === 'pretty'
          ? (record: EventRecord) => formatEventPlain(record) + '\n'
          : (record: EventRecord) => (spec.format instanceof Function ? spec.format(record) + '\n' : '');
    return new EchoSink(format, stream, report);
  }

  write(record: EventRecord, line: string): void {
    if (this.stream.destroyed || this.stream.writableLength > MAX_QUEUED_BYTES) {
      if (this.dropped++ === 0) {
        this.report(
          new EchoSinkError(
            'echo output is not keeping up; dropping echoed lines (the file log is complete)',
          ),
        );
      }
      return;
    }
    this.dropped = 0;
    this.stream.write(this.format(record, line));
  }

  /** The stream is the program's (stdout by default): it stays open for whoever else writes to it. */
  close(): void {}
}
