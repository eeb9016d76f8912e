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

/** Prints events one by one in a format; waits for the pipe when it is full. */
export class EventPrinter {
  private count = 0;
  private readonly table: Table.Table | undefined;

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
    if (text !== undefined && !this.output.out(text)) await drain(this.output.io.stdout);
    return !this.output.closed;
  }

  end(): void {
    if (this.format === 'json') this.output.out(this.count === 0 ? '[]\n' : '\n]\n');
    if (this.table !== undefined && this.count > 0) this.output.out(this.table.toString() + '\n');
  }
}
