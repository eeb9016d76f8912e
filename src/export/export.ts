import { ENVELOPE_FIELDS, type EnvelopeField } from '../format/schema/envelope.js';
import { summarizeEvent } from '../format/summary.js';
import type { ReadStats } from '../storage/line-reader.js';
import { readEvents, type ReadEvent, type ReadOptions } from '../read/reader.js';
import { cellText, csvRow, flatten } from './csv.js';

export const EXPORT_FORMATS = ['jsonl', 'json', 'csv', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The envelope fields but `data` (flattened into its own columns), in order: the first CSV columns. */
const ENVELOPE = ENVELOPE_FIELDS.filter((field): field is Exclude<EnvelopeField, 'data'> => field !== 'data');

/** Receives the output a piece at a time; resolves false when the reader has gone (stop). */
export type ExportSink = (text: string) => Promise<boolean>;

export interface ExportResult {
  events: number;
  /** Corrupt lines skipped per job. */
  stats: Map<string, ReadStats>;
}

/**
 * Writes the selected events in a format for other tools. CSV needs its columns before its first row,
 * so it reads the selection twice: once for the `data` fields that occur, then exactly the same events
 * again (up to where the first pass ended, even if writers append meanwhile). Memory stays flat.
 */
export async function exportEvents(
  options: ReadOptions,
  format: ExportFormat,
  sink: ExportSink,
): Promise<ExportResult> {
  let columns: string[] = [];
  let read: ReadOptions = options;
  if (format === 'csv') {
    const first = readEvents(options);
    const fields = new Set<string>();
    for await (const { record } of first)
      for (const key of flatten(record.data, 'data').keys()) fields.add(key);
    columns = [...ENVELOPE, ...fields];
    read = { ...options, untilCursor: first.cursor() };
  }
  const reader = readEvents(read);
  const writer = FORMATTERS[format](columns);
  let events = 0;
  // Rows go to the sink in pieces of about SINK_CHARS: one write per row was most of an export's time.
  let pending = writer.head;
  let open = true;
  for await (const event of reader) {
    pending += writer.row(event, events);
    events++;
    if (pending.length >= SINK_CHARS) {
      open = await sink(pending);
      pending = '';
      if (!open) break;
    }
  }
  if (open) await sink(pending + writer.tail(events));
  return { events, stats: reader.stats };
}

/** How much output is gathered before the sink is called. */
const SINK_CHARS = 64 * 1024;

interface Formatter {
  head: string;
  row: (event: ReadEvent, index: number) => string;
  tail: (count: number) => string;
}

const MARKDOWN_COLUMNS = ['time (UTC)', 'job', 'stream:seq', 'agent', 'event', 'severity', 'details'];

const FORMATTERS: Record<ExportFormat, (columns: string[]) => Formatter> = {
  jsonl: () => ({ head: '', row: ({ line }) => line + '\n', tail: () => '' }),
  json: () => ({
    head: '[',
    row: ({ line }, i) => (i === 0 ? '\n' : ',\n') + line,
    tail: (count) => (count === 0 ? ']\n' : '\n]\n'),
  }),
  csv: (columns) => ({
    head: csvRow(columns),
    row: ({ record }) => {
      const data = flatten(record.data, 'data');
      return csvRow(
        columns.map((column) =>
          column.startsWith('data.')
            ? cellText(data.get(column))
            : cellText(record[column as (typeof ENVELOPE)[number]]),
        ),
      );
    },
    tail: () => '',
  }),
  markdown: () => ({
    head: markdownRow(MARKDOWN_COLUMNS) + markdownRow(MARKDOWN_COLUMNS.map(() => '---')),
    row: ({ record }) =>
      markdownRow([
        record.ts.replace('T', ' ').replace('Z', ''),
        record.job_id,
        `${record.stream}:${record.seq}`,
        record.agent_id ?? '',
        record.event_type,
        record.severity,
        summarizeEvent(record),
      ]),
    tail: () => '',
  }),
};

/** A Markdown table row; `|` and line breaks in a cell would end it, so they are escaped. */
function markdownRow(cells: string[]): string {
  return `| ${cells.map((c) => c.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/\r?\n/g, '<br>')).join(' | ')} |\n`;
}
