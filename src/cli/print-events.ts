import type Table from 'cli-table3';
import type { Command } from 'commander';
import type { ReadEvent } from '../read/reader.js';
import { summarizeEvent } from '../format/summary.js';
import { visible } from './format/visible.js';
import { colorBySeverity, displayTime, formatPretty, type FormatContext } from './format/event.js';
import { plainTable } from './format/table.js';
import { drain, type Output } from './io.js';
import { choiceArg } from './options.js';

export const EVENT_FORMATS = ['pretty', 'table', 'json', 'jsonl'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];
const eventFormatArg = choiceArg('--output', EVENT_FORMATS);

/** -o and --json, shared by the commands that print events. */
export function addEventFormatOptions(command: Command): Command {
  return command
    .option(
      '-o, --output <format>',
      'pretty, table, json or jsonl (default: pretty on a terminal, jsonl in a pipe)',
      eventFormatArg,
    )
    .option('--json', 'same as -o jsonl');
}

/** -o, else --json (jsonl), else pretty on a terminal and jsonl into a pipe. */
export function chooseFormat(output: Output, flags: { output?: EventFormat; json?: boolean }): EventFormat {
  if (flags.output !== undefined) return flags.output;
  if (flags.json === true) return 'jsonl';
  return output.isTTY ? 'pretty' : 'jsonl';
}

/** Printed text is written in pieces of about this many characters (or sooner, see EventPrinter). */
const WRITE_CHARS = 64 * 1024;

/**
 * Prints events in a format, written in large pieces: stdout into a file or a pipe is synchronous in
 * Node, one system call per write, which was most of a scan's time with one write per event. What is
 * pending is written once it reaches WRITE_CHARS, and whenever the reader waits (a setImmediate: the
 * next turn of the event loop, after its read), so `tail -f` shows each event as soon as it is read.
 * Waits for the pipe when it is full.
 */
export class EventPrinter {
  private count = 0;
  private readonly table: Table.Table | undefined;
  private pending = '';
  private flushScheduled = false;

  constructor(
    private readonly output: Output,
    private readonly format: EventFormat,
    private readonly ctx: FormatContext,
  ) {
    if (format === 'table') {
      this.table = plainTable(['time', 'job', 'stream:seq', 'agent', 'event', 'details'], ctx.chalk, {
        wordWrap: true,
      });
    }
  }

  /** False once the reader of stdout has gone away (EPIPE): stop producing. */
  async print(event: ReadEvent): Promise<boolean> {
    const { record, line } = event;
    let text: string | undefined;
    switch (this.format) {
      case 'jsonl':
        text = line + '\n';
        break;
      case 'json':
        text = (this.count === 0 ? '[\n' : ',\n') + line;
        break;
      case 'pretty':
        text = formatPretty(record, this.ctx) + '\n';
        break;
      case 'table':
        this.table?.push([
          displayTime(record.ts, this.ctx.utc),
          record.job_id,
          `${record.stream}:${record.seq}`,
          visible(record.agent_id ?? ''),
          colorBySeverity(this.ctx.chalk, record.severity, record.event_type),
          visible(summarizeEvent(record)),
        ]);
    }
    this.count++;
    if (text !== undefined) {
      this.pending += text;
      if (this.pending.length >= WRITE_CHARS) {
        if (!this.writePending()) await drain(this.output.io.stdout);
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.writePending());
      }
    }
    return !this.output.closed;
  }

  /** Writes what is pending; false when the pipe is full. */
  private writePending(): boolean {
    this.flushScheduled = false;
    const text = this.pending;
    this.pending = '';
    return text === '' || this.output.out(text);
  }

  end(): void {
    this.writePending();
    if (this.format === 'json') this.output.out(this.count === 0 ? '[]\n' : '\n]\n');
    if (this.table !== undefined && this.count > 0) this.output.out(this.table.toString() + '\n');
  }
}
