import type { EventRecord } from '../format/schema/envelope.js';
import { EchoSink } from './echo.js';
import type { EventLogOptions, Report } from './options.js';

/**
 * An output a record goes to after the segment has it (the file is the log; a sink is a copy for
 * someone watching). Written in turn, as pino's multistream does: a sink must not block or throw, and
 * reports its own failures. The echo is the first; external outputs plug in here.
 */
export interface EventSink {
  write(record: EventRecord, line: string): void;
  close(): void;
}

/** The sinks the options ask for. */
export function openSinks(options: EventLogOptions, report: Report): EventSink[] {
  return options.echo === undefined ? [] : [EchoSink.create(options.echo, report)];
}

/** Hands one written record to every sink. */
export function writeToSinks(sinks: readonly EventSink[], record: EventRecord, line: string): void {
  for (const sink of sinks) sink.write(record, line);
}
