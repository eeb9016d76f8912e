import type { Command } from 'commander';
import fs from 'node:fs';
import { decodeCursor, encodeCursor, type Cursor } from '../../read/cursor.js';
import { locateEventsDir } from '../../read/locate.js';
import { lastOf, readLastEvents } from '../../read/last.js';
import { readEvents, type ReadEvent } from '../../read/reader.js';
import { InvalidArgumentError } from '../../format/errors.js';
import { writeFileAtomic } from '../../storage/fsutil.js';
import { acquireLock } from '../../storage/lock.js';
import { humanBytes } from '../../format/truncate.js';
import { addFilterOptions, toFilter, type FilterFlags } from '../filter-options.js';
import type { Output } from '../io.js';
import { dirOption, integerArg } from '../options.js';
import { addEventFormatOptions, chooseFormat, EventPrinter, type EventFormat } from '../print-events.js';
import { reportSkipped } from '../report-skipped.js';

export interface QueryFlags extends FilterFlags {
  dir?: string;
  limit?: number;
  last?: number;
  afterCursor?: string;
  cursorFile?: string;
  showCursor?: boolean;
  output?: EventFormat;
  json?: boolean;
  /** false with --no-index */
  index?: boolean;
  stats?: boolean;
}

export function configure(command: Command, output: Output): void {
  command.addOption(dirOption());
  addFilterOptions(command)
    .option(
      '--limit <n>',
      'at most this many events (the oldest first)',
      integerArg('--limit', 0, Number.MAX_SAFE_INTEGER),
    )
    .option(
      '--last <n>',
      'only the newest n matching events, shown in order',
      integerArg('--last', 0, 10_000_000),
    )
    .option('--after-cursor <cursor>', 'only events after this cursor (printed by --show-cursor)')
    .option(
      '--cursor-file <file>',
      'resume after the cursor in this file and write the new cursor back (one run at a time: exit 6 while another holds it)',
    )
    .option('--show-cursor', 'print the cursor after the last event to stderr')
    .option('--no-index', 'read every line, ignoring the segment indexes')
    .option('--stats', 'print what the query read (bytes from disk, events matched) to stderr');
  addEventFormatOptions(command).action(async (flags: QueryFlags) => {
    await runQuery(flags, output);
  });
}

/**
 * Prints the selected events; returns how many were printed and the cursor after them. With
 * --cursor-file, the whole read-print-write runs holding `<file>.lock`: two overlapping runs (cron jobs
 * that overlap) never print the same events; the second exits busy (issue 10).
 */
export async function runQuery(
  flags: QueryFlags,
  output: Output,
): Promise<{ printed: number; cursor: Cursor }> {
  if (flags.cursorFile === undefined) return queryOnce(flags, output);
  const lock = await acquireLock(`${flags.cursorFile}.lock`, `--cursor-file ${flags.cursorFile}`);
  try {
    return await queryOnce(flags, output);
  } finally {
    await lock.release();
  }
}

async function queryOnce(flags: QueryFlags, output: Output): Promise<{ printed: number; cursor: Cursor }> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const filter = toFilter(flags);
  const afterCursor = readCursorFlags(flags);
  const reader = readEvents({ dir, ...filter, afterCursor, noIndex: flags.index === false });
  const printer = new EventPrinter(output, chooseFormat(output, flags), {
    chalk: output.chalk,
    utc: flags.utc === true,
  });
  let printed = 0;
  // --last reads backwards through the indexes, unless a cursor must account for every line read.
  const usesCursor = afterCursor !== undefined || flags.cursorFile !== undefined || flags.showCursor === true;
  let events: AsyncIterable<ReadEvent> | ReadEvent[] = reader;
  let stats = reader.stats;
  if (flags.last !== undefined && (usesCursor || flags.index === false))
    events = await lastOf(reader, flags.last);
  else if (flags.last !== undefined)
    ({ events, stats } = await readLastEvents({ dir, ...filter }, flags.last));
  if (flags.limit !== 0) {
    for await (const event of events) {
      if (!(await printer.print(event))) break;
      if (++printed === flags.limit) break;
    }
  }
  printer.end();
  reportSkipped(stats, output);
  if (flags.stats === true) {
    const bytes = [...stats.values()].reduce((n, s) => n + (s.bytesRead ?? 0), 0);
    output.err(`stats: ${printed} events printed, ${bytes} bytes read from disk (${humanBytes(bytes)})\n`);
  }
  const cursor = reader.cursor();
  if (flags.showCursor === true) output.err(`cursor: ${encodeCursor(cursor)}\n`);
  if (flags.cursorFile !== undefined && !output.closed)
    await writeFileAtomic(flags.cursorFile, encodeCursor(cursor) + '\n');
  return { printed, cursor };
}

function readCursorFlags(flags: QueryFlags): Cursor | undefined {
  const named = (flag: string, text: string) => {
    try {
      return decodeCursor(text);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`${flag}: ${err.message}`);
      throw err;
    }
  };
  if (flags.afterCursor !== undefined) return named('--after-cursor', flags.afterCursor);
  if (flags.cursorFile !== undefined && fs.existsSync(flags.cursorFile)) {
    return named(`--cursor-file ${flags.cursorFile}`, fs.readFileSync(flags.cursorFile, 'utf8'));
  }
  return undefined;
}
